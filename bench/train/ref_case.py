"""Python reference side of one benchmark case (scikit-learn, XGBoost, LightGBM).

Usage: python bench/train/ref_case.py '<case JSON>'. Reads the dataset files prepared by
run.mjs, so it trains on the same numbers, split and folds as netwarden; prints one JSON line
with the measurements and writes the predicted labels to case["predictions"].
"""

import json
import os
import re
import sys
import time

import numpy as np

spec = json.loads(sys.argv[1])
threads = spec.get("threads", 2)


def load(name):
    base = os.path.join(spec["dataDir"], name)
    with open(base + ".json") as f:
        meta = json.load(f)
    dtype = np.float32 if meta["dtype"] == "float32" else np.float64
    X = np.fromfile(base + ".X.bin", dtype=dtype).reshape(meta["nRows"], meta["nCols"])
    y = np.fromfile(base + ".y.bin", dtype=np.int32)
    test = np.fromfile(base + ".test.bin", dtype=np.uint8) if "split" in meta else None
    fold = np.fromfile(base + ".fold.bin", dtype=np.int32) if "folds" in meta else None
    return meta, X, y, test, fold


def make_model(lib, kind, p):
    if lib == "xgboost":
        import xgboost as xgb

        return xgb.XGBClassifier(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            learning_rate=p["learning_rate"],
            max_bin=p["max_bins"],
            tree_method="hist",
            reg_lambda=1.0,
            min_child_weight=1.0,
            n_jobs=threads,
            random_state=0,
        )
    if lib == "lightgbm":
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            num_leaves=2 ** p["max_depth"],
            learning_rate=p["learning_rate"],
            max_bin=p["max_bins"],
            reg_lambda=1.0,
            min_child_weight=1.0,
            min_child_samples=1,
            n_jobs=threads,
            random_state=0,
            verbose=-1,
        )
    from sklearn import ensemble, tree

    if kind == "random_forest":
        return ensemble.RandomForestClassifier(
            n_estimators=p.get("n_estimators", 100), n_jobs=threads, random_state=0
        )
    if kind == "extra_trees":
        return ensemble.ExtraTreesClassifier(
            n_estimators=p.get("n_estimators", 100), n_jobs=threads, random_state=0
        )
    if kind == "decision_tree":
        return tree.DecisionTreeClassifier(random_state=0)
    if kind == "adaboost":
        return ensemble.AdaBoostClassifier(
            estimator=tree.DecisionTreeClassifier(max_depth=p.get("max_depth", 1)),
            n_estimators=p.get("n_estimators", 50),
            learning_rate=p.get("learning_rate", 1.0),
            random_state=0,
        )
    raise SystemExit(f"no reference for {lib} {kind}")


def fit(X, y):
    model = make_model(spec["lib"], spec["kind"], spec["params"])
    t0 = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - t0


def batch(model, X):
    model.predict_proba(X[:1000])
    t0 = time.perf_counter()
    proba = model.predict_proba(X)
    return proba, len(X) / (time.perf_counter() - t0)


def single_row(model, X, n=2000):
    times = np.empty(n)
    for r in range(300 + n):
        row = X[r % len(X)].reshape(1, -1)
        t0 = time.perf_counter_ns()
        model.predict_proba(row)
        t1 = time.perf_counter_ns()
        if r >= 300:
            times[r - 300] = (t1 - t0) / 1000
    times.sort()
    return {"p50": float(times[int(n * 0.5)]), "p99": float(times[int(n * 0.99)])}


meta, X, y, test, fold = load(spec["dataset"])
result = {"side": spec["lib"], "kind": spec["kind"]}
predictions = None
if spec["mode"] == "holdout":
    tr = test == 0
    te = test == 1
    Xte = np.ascontiguousarray(X[te])
    model, secs = fit(np.ascontiguousarray(X[tr]), y[tr])
    result["fitSeconds"] = secs
    proba, rate = batch(model, Xte)
    result["predictRowsPerSecond"] = rate
    predictions = np.asarray(model.classes_)[np.argmax(proba, axis=1)].astype(np.int32)
    result.update(single_row(model, Xte))
elif spec["mode"] == "throughput":
    model, secs = fit(X, y)
    result["fitSeconds"] = secs
    _, rate = batch(model, X)
    result["predictRowsPerSecond"] = rate
else:
    predictions = np.zeros(len(y), dtype=np.int32)
    total = 0.0
    for k in range(int(fold.max()) + 1):
        tr = fold != k
        te = fold == k
        model, secs = fit(X[tr], y[tr])
        total += secs
        proba = model.predict_proba(X[te])
        predictions[te] = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
    result["fitSeconds"] = total
if predictions is not None:
    predictions.tofile(spec["predictions"])
with open("/proc/self/status") as f:
    hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read())
result["peakRssMB"] = int(hwm.group(1)) / 1024
print(json.dumps(result))
