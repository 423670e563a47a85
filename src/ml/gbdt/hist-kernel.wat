;; The histogram build of a boosted tree's node, in WebAssembly: V8 checks the bounds of every
;; typed-array access in the JavaScript loop; here the loads and stores are plain.
;; Compiled by `npm run wasm` (scripts/build-wasm.mjs) into hist-kernel.wasm.ts; a test checks that
;; the compiled bytes are those of this file. Sums run in the order of the JavaScript loop, so
;; histograms are bit for bit the same.
;;
;; Memory: one per HistEngine, sized once and never grown (growing detaches its buffer, which slows
;; every typed-array access in the thread): slot codes (u16, rows × nf, row-major), the node's row
;; numbers (i32), gradient pairs (f64 g, h per row), the feature list, one histogram (f64 g, h per slot).
(module
  (import "env" "memory" (memory 1 65536))

  ;; memory[p .. p + n) = 0: a fresh histogram.
  (func (export "zero") (param $p i32) (param $n i32)
    (memory.fill (local.get $p) (i32.const 0) (local.get $n)))

  ;; hist[2·code] += g[r], hist[2·code + 1] += h[r] for each of `count` rows r = idx[i] and every
  ;; feature j < nf (code = codes[r·nf + j]); two features per step.
  (func (export "build")
    (param $hist i32) (param $codes i32) (param $nf i32) (param $idx i32) (param $count i32) (param $gh i32)
    (local $p i32) (local $pe i32) (local $r i32) (local $o i32) (local $oe i32)
    (local $g f64) (local $h f64) (local $k i32) (local $k1 i32)
    (local.set $p (local.get $idx))
    (local.set $pe (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $p) (local.get $pe)))
        (local.set $r (i32.load (local.get $p)))
        (local.set $k (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))))
        (local.set $g (f64.load (local.get $k)))
        (local.set $h (f64.load offset=8 (local.get $k)))
        (local.set $o (i32.add (local.get $codes) (i32.shl (i32.mul (local.get $r) (local.get $nf)) (i32.const 1))))
        (local.set $oe (i32.add (local.get $o) (i32.shl (local.get $nf) (i32.const 1))))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $oe)))
            (local.set $k (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $o)) (i32.const 4))))
            (local.set $k1 (i32.add (local.get $hist) (i32.shl (i32.load16_u offset=2 (local.get $o)) (i32.const 4))))
            (f64.store (local.get $k) (f64.add (f64.load (local.get $k)) (local.get $g)))
            (f64.store offset=8 (local.get $k) (f64.add (f64.load offset=8 (local.get $k)) (local.get $h)))
            (f64.store (local.get $k1) (f64.add (f64.load (local.get $k1)) (local.get $g)))
            (f64.store offset=8 (local.get $k1) (f64.add (f64.load offset=8 (local.get $k1)) (local.get $h)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $pairs)))
        (if (i32.lt_u (local.get $o) (local.get $oe))
          (then
            (local.set $k (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $o)) (i32.const 4))))
            (f64.store (local.get $k) (f64.add (f64.load (local.get $k)) (local.get $g)))
            (f64.store offset=8 (local.get $k) (f64.add (f64.load offset=8 (local.get $k)) (local.get $h)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $rows))))

  ;; The same over the `m` features listed (i32 local feature numbers) at `list`: column sampling.
  (func (export "buildList")
    (param $hist i32) (param $codes i32) (param $nf i32) (param $idx i32) (param $count i32) (param $gh i32)
    (param $list i32) (param $m i32)
    (local $p i32) (local $pe i32) (local $r i32) (local $o i32) (local $a i32) (local $ae i32)
    (local $g f64) (local $h f64) (local $k i32)
    (local.set $p (local.get $idx))
    (local.set $pe (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $ae (i32.add (local.get $list) (i32.shl (local.get $m) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $p) (local.get $pe)))
        (local.set $r (i32.load (local.get $p)))
        (local.set $k (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))))
        (local.set $g (f64.load (local.get $k)))
        (local.set $h (f64.load offset=8 (local.get $k)))
        (local.set $o (i32.add (local.get $codes) (i32.shl (i32.mul (local.get $r) (local.get $nf)) (i32.const 1))))
        (local.set $a (local.get $list))
        (block $feats_done
          (loop $feats
            (br_if $feats_done (i32.ge_u (local.get $a) (local.get $ae)))
            (local.set $k
              (i32.add (local.get $hist)
                (i32.shl
                  (i32.load16_u (i32.add (local.get $o) (i32.shl (i32.load (local.get $a)) (i32.const 1))))
                  (i32.const 4))))
            (f64.store (local.get $k) (f64.add (f64.load (local.get $k)) (local.get $g)))
            (f64.store offset=8 (local.get $k) (f64.add (f64.load offset=8 (local.get $k)) (local.get $h)))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (br $feats)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $rows)))))
