;; The per-feature class histogram of a CART node (CartGrower.evaluate), in WebAssembly: the same
;; loop without V8's bounds check on each of its loads and stores. Compiled by `npm run wasm` into
;; cart-kernel.wasm.ts. Weights are added in row order, so histograms are bit for bit the same.
;;
;; Memory: one per grower (thread), sized once, never grown: bins (u8, column-major), labels
;; (i32), weights (f64), the row order (i32), and the scratch arrays the grower reads back:
;; class weights per bin (f64 × K), rows per bin (i32), bins touched in order (i32).
(module
  (import "env" "memory" (memory 1 65536))

  ;; For rows r = idx[s .. e): bin b = col[r]; on b's first row, record b in touched and zero its K
  ;; class weights; count the row; hist[b·K + y[r]] += w[r]. Returns how many bins were touched.
  (func (export "accumulate")
    (param $col i32) (param $y i32) (param $w i32) (param $idx i32) (param $s i32) (param $e i32)
    (param $hist i32) (param $cnt i32) (param $touched i32) (param $K i32)
    (result i32)
    (local $p i32) (local $pe i32) (local $r i32) (local $b i32) (local $c i32) (local $n i32)
    (local $nt i32) (local $a i32) (local $kb i32)
    (local.set $p (i32.add (local.get $idx) (i32.shl (local.get $s) (i32.const 2))))
    (local.set $pe (i32.add (local.get $idx) (i32.shl (local.get $e) (i32.const 2))))
    (local.set $kb (i32.shl (local.get $K) (i32.const 3)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $p) (local.get $pe)))
        (local.set $r (i32.load (local.get $p)))
        (local.set $b (i32.load8_u (i32.add (local.get $col) (local.get $r))))
        (local.set $c (i32.add (local.get $cnt) (i32.shl (local.get $b) (i32.const 2))))
        (local.set $n (i32.load (local.get $c)))
        (if (i32.eqz (local.get $n))
          (then
            (i32.store (i32.add (local.get $touched) (i32.shl (local.get $nt) (i32.const 2))) (local.get $b))
            (local.set $nt (i32.add (local.get $nt) (i32.const 1)))
            (memory.fill (i32.add (local.get $hist) (i32.mul (local.get $b) (local.get $kb))) (i32.const 0) (local.get $kb))))
        (i32.store (local.get $c) (i32.add (local.get $n) (i32.const 1)))
        (local.set $a
          (i32.add (local.get $hist)
            (i32.shl
              (i32.add (i32.mul (local.get $b) (local.get $K)) (i32.load (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))))
              (i32.const 3))))
        (f64.store (local.get $a)
          (f64.add (f64.load (local.get $a)) (f64.load (i32.add (local.get $w) (i32.shl (local.get $r) (i32.const 3))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $rows)))
    (local.get $nt)))
