;; Matrix product for the wasm backend's inference passes: out [M, N] = a [M, K] · W [K, N], with W packed in panels
;; of eight columns, b [⌈N/8⌉, K, 8] (panel p holds columns 8p … 8p + 7 row by row, zeros past column N − 1).
;;
;; Source of matmul.wasm.ts (regenerate with `node tools/scripts/wasm-kernels.cjs`; kernels.spec.ts checks that the
;; two agree).
;; The module imports tfjs-backend-wasm's own memory, so it reads and writes tensors where they live.
;;
;; For each panel, four rows of a at a time: 4 × 8 outputs stay in eight f32x4 registers over the whole K, each step
;; loading the panel's eight weights (two vectors) once for the four rows and each row's a[m, k] as a splat straight
;; from memory (a broadcast load, no shuffle). A panel (K × 32 bytes) stays in the L1 cache while every row group reads
;; it. Four rows is what V8 keeps in the 16 vector registers of x86-64 without spilling (five or six rows measured
;; slower). Products of fewer than four rows take the same loop two rows at a time, then one.
;;
;; All pointers are byte offsets; K ≥ 1 and M ≥ 1 (the caller handles empty products); scratch holds 8 f32 (read
;; only when N is not a multiple of 8).
(module
  (import "env" "memory" (memory 1))

  ;; Stores the eight columns lo | hi of one output row at o, or only the first `cols` of them (the last panel of an N
  ;; that is not a multiple of 8) through scratch.
  (func $store (param $o i32) (param $lo v128) (param $hi v128) (param $cols i32) (param $scratch i32)
    (local $j i32)
    (if (i32.eq (local.get $cols) (i32.const 8))
      (then
        (v128.store offset=0 (local.get $o) (local.get $lo))
        (v128.store offset=16 (local.get $o) (local.get $hi))
        (return)))
    (v128.store offset=0 (local.get $scratch) (local.get $lo))
    (v128.store offset=16 (local.get $scratch) (local.get $hi))
    (loop $lanes
      (f32.store
        (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2)))
        (f32.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 2)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $lanes (i32.lt_u (local.get $j) (local.get $cols)))))

  (func (export "matmul")
    (param $a i32) (param $b i32) (param $out i32) (param $scratch i32) (param $M i32) (param $K i32) (param $N i32)
    (local $rowA i32) (local $rowO i32) (local $panel i32) (local $panels i32) (local $p i32) (local $cols i32)
    (local $bp i32) (local $bk i32) (local $m i32) (local $end i32) (local $o i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local.set $rowA (i32.shl (local.get $K) (i32.const 2))) ;; bytes of a row of a
    (local.set $rowO (i32.shl (local.get $N) (i32.const 2))) ;; bytes of a row of out
    (local.set $panel (i32.shl (local.get $K) (i32.const 5))) ;; bytes of a panel of b
    (local.set $panels (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))
    (loop $panel_loop
      (local.set $cols (i32.sub (local.get $N) (i32.shl (local.get $p) (i32.const 3))))
      (if (i32.gt_u (local.get $cols) (i32.const 8)) (then (local.set $cols (i32.const 8))))
      (local.set $bp (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $panel))))
      (local.set $m (i32.const 0))

      ;; four rows at a time; with M mod 4 rows left over, the last tile is rows M − 4 … M − 1 (overlapping the one
      ;; before, whose rows it writes again with the same values): cheaper than those rows one at a time
      (block $quads_done
        (br_if $quads_done (i32.lt_u (local.get $M) (i32.const 4)))
        (loop $quads
          (if (i32.gt_u (i32.add (local.get $m) (i32.const 4)) (local.get $M))
            (then (local.set $m (i32.sub (local.get $M) (i32.const 4)))))
          (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $m) (local.get $rowA))))
          (local.set $a1 (i32.add (local.get $a0) (local.get $rowA)))
          (local.set $a2 (i32.add (local.get $a1) (local.get $rowA)))
          (local.set $a3 (i32.add (local.get $a2) (local.get $rowA)))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
          (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
          (local.set $bk (local.get $bp))
          (local.set $end (i32.add (local.get $a0) (local.get $rowA)))
          (loop $k4
            (local.set $b0 (v128.load offset=0 (local.get $bk)))
            (local.set $b1 (v128.load offset=16 (local.get $bk)))
            (local.set $x (v128.load32_splat (local.get $a0)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat (local.get $a1)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat (local.get $a2)))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat (local.get $a3)))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
            (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
            (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
            (local.set $bk (i32.add (local.get $bk) (i32.const 32)))
            (br_if $k4 (i32.lt_u (local.get $a0) (local.get $end))))
          ;; out[m … m + 3, 8p …]
          (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $m) (local.get $rowO)) (i32.shl (local.get $p) (i32.const 5)))))
          (call $store (local.get $o) (local.get $c00) (local.get $c01) (local.get $cols) (local.get $scratch))
          (local.set $o (i32.add (local.get $o) (local.get $rowO)))
          (call $store (local.get $o) (local.get $c10) (local.get $c11) (local.get $cols) (local.get $scratch))
          (local.set $o (i32.add (local.get $o) (local.get $rowO)))
          (call $store (local.get $o) (local.get $c20) (local.get $c21) (local.get $cols) (local.get $scratch))
          (local.set $o (i32.add (local.get $o) (local.get $rowO)))
          (call $store (local.get $o) (local.get $c30) (local.get $c31) (local.get $cols) (local.get $scratch))
          (local.set $m (i32.add (local.get $m) (i32.const 4)))
          (br_if $quads (i32.lt_u (local.get $m) (local.get $M)))))

      ;; fewer than four rows: two at a time (one pass over the panel for both)
      (block $pairs_done
        (loop $pairs
          (br_if $pairs_done (i32.gt_u (i32.add (local.get $m) (i32.const 2)) (local.get $M)))
          (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $m) (local.get $rowA))))
          (local.set $a1 (i32.add (local.get $a0) (local.get $rowA)))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $bk (local.get $bp))
          (local.set $end (i32.add (local.get $a0) (local.get $rowA)))
          (loop $k2
            (local.set $b0 (v128.load offset=0 (local.get $bk)))
            (local.set $b1 (v128.load offset=16 (local.get $bk)))
            (local.set $x (v128.load32_splat (local.get $a0)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat (local.get $a1)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
            (local.set $bk (i32.add (local.get $bk) (i32.const 32)))
            (br_if $k2 (i32.lt_u (local.get $a0) (local.get $end))))
          (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $m) (local.get $rowO)) (i32.shl (local.get $p) (i32.const 5)))))
          (call $store (local.get $o) (local.get $c00) (local.get $c01) (local.get $cols) (local.get $scratch))
          (call $store (i32.add (local.get $o) (local.get $rowO)) (local.get $c10) (local.get $c11) (local.get $cols) (local.get $scratch))
          (local.set $m (i32.add (local.get $m) (i32.const 2)))
          (br $pairs)))

      ;; a last single row
      (block $rows_done
        (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $m) (local.get $M)))
          (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $m) (local.get $rowA))))
          (local.set $c00 (v128.const i32x4 0 0 0 0))
          (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $bk (local.get $bp))
          (local.set $end (i32.add (local.get $a0) (local.get $rowA)))
          (loop $k1
            (local.set $x (v128.load32_splat (local.get $a0)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $bk)))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $bk)))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $bk (i32.add (local.get $bk) (i32.const 32)))
            (br_if $k1 (i32.lt_u (local.get $a0) (local.get $end))))
          (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $m) (local.get $rowO)) (i32.shl (local.get $p) (i32.const 5)))))
          (call $store (local.get $o) (local.get $c00) (local.get $c01) (local.get $cols) (local.get $scratch))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br $rows)))

      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $panel_loop (i32.lt_u (local.get $p) (local.get $panels))))))
