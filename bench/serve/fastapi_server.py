"""The seeds' serving stack, for comparison: FastAPI + uvicorn + scikit-learn.

Trains scikit-learn's histogram gradient boosting on the same phishing data with the same settings
as the netwarden model in the benchmark (300 trees, depth 8, learning rate 0.1, 80/20 stratified
split, seed 42), then serves it the way the seeds do: one JSON record per request, turned into a
pandas row and scored with predict_proba; a CSV upload scored with pandas.

    python fastapi_server.py <phishing_websites.csv> <port>
"""

import io
import sys
import time

import pandas as pd
import uvicorn
from fastapi import FastAPI, File, UploadFile
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

data_path, port = sys.argv[1], int(sys.argv[2])
df = pd.read_csv(data_path)
FEATURES = [c for c in df.columns if c != "Result"]
X, y = df[FEATURES], df["Result"].astype(str)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
t0 = time.time()
model = HistGradientBoostingClassifier(
    max_iter=300, max_depth=8, learning_rate=0.1, early_stopping=False, random_state=7
).fit(X_train, y_train)
print(
    f"trained in {time.time() - t0:.1f}s, test accuracy {model.score(X_test, y_test):.4f}",
    flush=True,
)
CLASSES = [str(c) for c in model.classes_]

app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/predict")
def predict(record: dict):
    row = pd.DataFrame([record])[FEATURES]
    proba = model.predict_proba(row)[0]
    best = int(proba.argmax())
    return {
        "label": CLASSES[best],
        "probabilities": {c: float(p) for c, p in zip(CLASSES, proba)},
    }


@app.post("/predict/csv")
async def predict_csv(file: UploadFile = File(...)):
    frame = pd.read_csv(io.BytesIO(await file.read()))
    proba = model.predict_proba(frame[FEATURES])
    labels = [CLASSES[i] for i in proba.argmax(axis=1)]
    return {"rows": len(labels), "predictions": labels}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1)
