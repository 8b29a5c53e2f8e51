;; Attention for the wasm backend's inference passes: T new query tokens per sequence (T = 1 when decoding) against
;; the sequence's keys and values, causal over the new tokens.
;;
;; Source of decode-attention.wasm.ts (regenerate with `node tools/scripts/wasm-kernels.cjs`; a spec checks that the
;; two agree). The module imports tfjs-backend-wasm's own memory, so it reads and writes tensors where they live.
;;
;;   out[n, h, t, :] = Σ_s p[s] · v[n, h/g, s, :],
;;   p = softmax over the valid s ≤ S − T + t of  q[n, h, t, :] · k[n, h/g, s, :]
;;
;; q [N, H, T, D] (already scaled by 1/√D), k and v [N, Hkv, S, D] (the last T columns are the new tokens'),
;; valid [N, S] i32 (0 = masked column), out [N, H, T, D], scratch [S rounded up to a multiple of 4] f32;
;; g = H / Hkv (grouped-query attention: query head h reads KV head ⌊h/g⌋).
;; All pointers are byte offsets; D is a multiple of 4 (one f32x4 lane group per step of the inner loops).
(module
  (import "env" "memory" (memory 0))

;; Four lanes of e^x for x ≤ 0 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-7 polynomial for e^r, then
  ;; · 2^n built in the exponent bits); lanes below the smallest normal float (−∞ included) give 0.
  (func $exp4 (param $x v128) (result v128)
    (local $under v128) (local $n v128) (local $r v128) (local $p v128)
    (local.set $under (f32x4.lt (local.get $x) (f32x4.splat (f32.const -87.33654))))
    (local.set $x (f32x4.max (local.get $x) (f32x4.splat (f32.const -87.33654))))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341)))))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375))))
        (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $p (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $p
      (f32x4.add
        (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $r)) (local.get $r)) (local.get $r))
        (f32x4.splat (f32.const 1))))
    (v128.andnot
      (f32x4.mul
        (local.get $p)
        (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23)))
      (local.get $under)))

  ;; Sum of the four lanes.
  (func $hsum (param $x v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 1 (local.get $x)))
      (f32.add (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 3 (local.get $x)))))

  ;; One query: out[0:D] = softmax over the first S columns (those with mask[s] ≠ 0; all of them when mp = 0) of
  ;; (q · k[s]) applied to v.
  (func $query
    (param $qp i32) (param $kp i32) (param $vp i32) (param $op i32) (param $mp i32) (param $scratch i32)
    (param $S i32) (param $row i32)
    (local $wide i32) (local $padded i32) (local $s i32) (local $d i32) (local $at i32) (local $ep i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $w v128) (local $max v128)
    (local $score f32) (local $top f32)
    (local.set $wide (i32.and (local.get $row) (i32.const -64))) ;; bytes covered by whole 4-vector (64-byte) blocks
    (local.set $padded (i32.shl (i32.and (i32.add (local.get $S) (i32.const 3)) (i32.const -4)) (i32.const 2)))
    ;; scores[s] = q · k[s] on valid columns, −∞ on masked ones and on the padding up to a multiple of 4
    (local.set $top (f32.const -inf))
    (local.set $at (local.get $kp))
    (local.set $s (i32.const 0))
    (loop $scores
      (local.set $score (f32.const -inf))
      (if (if (result i32) (local.get $mp)
            (then (i32.load (i32.add (local.get $mp) (i32.shl (local.get $s) (i32.const 2)))))
            (else (i32.const 1)))
        (then
          (local.set $a0 (v128.const f32x4 0 0 0 0))
          (local.set $a1 (v128.const f32x4 0 0 0 0))
          (local.set $a2 (v128.const f32x4 0 0 0 0))
          (local.set $a3 (v128.const f32x4 0 0 0 0))
          (local.set $d (i32.const 0))
          (block $wide_done
            (br_if $wide_done (i32.eqz (local.get $wide)))
            (loop $dot4
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $qp) (local.get $d))) (v128.load offset=0 (i32.add (local.get $at) (local.get $d))))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $qp) (local.get $d))) (v128.load offset=16 (i32.add (local.get $at) (local.get $d))))))
              (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $qp) (local.get $d))) (v128.load offset=32 (i32.add (local.get $at) (local.get $d))))))
              (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $qp) (local.get $d))) (v128.load offset=48 (i32.add (local.get $at) (local.get $d))))))
              (local.set $d (i32.add (local.get $d) (i32.const 64)))
              (br_if $dot4 (i32.lt_u (local.get $d) (local.get $wide)))))
          (block $tail_done
            (br_if $tail_done (i32.ge_u (local.get $d) (local.get $row)))
            (loop $dot1
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (i32.add (local.get $qp) (local.get $d))) (v128.load (i32.add (local.get $at) (local.get $d))))))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (br_if $dot1 (i32.lt_u (local.get $d) (local.get $row)))))
          (local.set $score (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
          (local.set $top (f32.max (local.get $top) (local.get $score)))))
      (f32.store (i32.add (local.get $scratch) (i32.shl (local.get $s) (i32.const 2))) (local.get $score))
      (local.set $at (i32.add (local.get $at) (local.get $row)))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br_if $scores (i32.lt_u (local.get $s) (local.get $S))))
    (block $pad_done
      (loop $pad
        (br_if $pad_done (i32.ge_u (i32.shl (local.get $s) (i32.const 2)) (local.get $padded)))
        (f32.store (i32.add (local.get $scratch) (i32.shl (local.get $s) (i32.const 2))) (f32.const -inf))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $pad)))

    ;; p[s] = e^(score − max), four at a time, and their sum
    (local.set $max (f32x4.splat (local.get $top)))
    (local.set $a0 (v128.const f32x4 0 0 0 0))
    (local.set $ep (i32.const 0))
    (loop $softmax
      (local.set $at (i32.add (local.get $scratch) (local.get $ep)))
      (local.set $w (call $exp4 (f32x4.sub (v128.load (local.get $at)) (local.get $max))))
      (v128.store (local.get $at) (local.get $w))
      (local.set $a0 (f32x4.add (local.get $a0) (local.get $w)))
      (local.set $ep (i32.add (local.get $ep) (i32.const 16)))
      (br_if $softmax (i32.lt_u (local.get $ep) (local.get $padded))))
    ;; out = Σ p[s] · v[s] / Σ p[s], in blocks of four vectors kept in registers over all s
    (local.set $w (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $a0)))))
    (local.set $d (i32.const 0))
    (block $vwide_done
      (br_if $vwide_done (i32.eqz (local.get $wide)))
      (loop $vblocks
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $at (i32.add (local.get $vp) (local.get $d)))
        (local.set $ep (local.get $scratch))
        (local.set $s (i32.const 0))
        (loop $vrows
          (local.set $max (f32x4.splat (f32.load (local.get $ep))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $max) (v128.load offset=0 (local.get $at)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $max) (v128.load offset=16 (local.get $at)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $max) (v128.load offset=32 (local.get $at)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $max) (v128.load offset=48 (local.get $at)))))
          (local.set $at (i32.add (local.get $at) (local.get $row)))
          (local.set $ep (i32.add (local.get $ep) (i32.const 4)))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (br_if $vrows (i32.lt_u (local.get $s) (local.get $S))))
        (v128.store offset=0 (i32.add (local.get $op) (local.get $d)) (f32x4.mul (local.get $w) (local.get $a0)))
        (v128.store offset=16 (i32.add (local.get $op) (local.get $d)) (f32x4.mul (local.get $w) (local.get $a1)))
        (v128.store offset=32 (i32.add (local.get $op) (local.get $d)) (f32x4.mul (local.get $w) (local.get $a2)))
        (v128.store offset=48 (i32.add (local.get $op) (local.get $d)) (f32x4.mul (local.get $w) (local.get $a3)))
        (local.set $d (i32.add (local.get $d) (i32.const 64)))
        (br_if $vblocks (i32.lt_u (local.get $d) (local.get $wide)))))
    (block $vtail_done
      (loop $vsingle
        (br_if $vtail_done (i32.ge_u (local.get $d) (local.get $row)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $at (i32.add (local.get $vp) (local.get $d)))
        (local.set $ep (local.get $scratch))
        (local.set $s (i32.const 0))
        (loop $vrow
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.splat (f32.load (local.get $ep))) (v128.load (local.get $at)))))
          (local.set $at (i32.add (local.get $at) (local.get $row)))
          (local.set $ep (i32.add (local.get $ep) (i32.const 4)))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (br_if $vrow (i32.lt_u (local.get $s) (local.get $S))))
        (v128.store (i32.add (local.get $op) (local.get $d)) (f32x4.mul (local.get $w) (local.get $a0)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $vsingle))))

  (func (export "attend")
    (param $q i32) (param $k i32) (param $v i32) (param $valid i32) (param $out i32) (param $scratch i32)
    (param $N i32) (param $H i32) (param $Hkv i32) (param $T i32) (param $S i32) (param $D i32)
    (local $g i32) (local $row i32) (local $span i32) (local $n i32) (local $h i32) (local $t i32)
    (local $at i32) (local $kv i32)
    (local.set $g (i32.div_u (local.get $H) (local.get $Hkv)))
    (local.set $row (i32.shl (local.get $D) (i32.const 2))) ;; bytes of one head vector
    (local.set $span (i32.mul (local.get $S) (local.get $row))) ;; bytes of one sequence's keys of one KV head
    (local.set $n (i32.const 0))
    (loop $sequences
      (local.set $h (i32.const 0))
      (loop $heads
        (local.set $kv
          (i32.mul
            (i32.add (i32.mul (local.get $n) (local.get $Hkv)) (i32.div_u (local.get $h) (local.get $g)))
            (local.get $span)))
        (local.set $t (i32.const 0))
        (loop $queries
          ;; byte offset of q[n, h, t] and out[n, h, t]
          (local.set $at
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $h)) (local.get $T)) (local.get $t))
              (local.get $row)))
          (call $query
            (i32.add (local.get $q) (local.get $at))
            (i32.add (local.get $k) (local.get $kv))
            (i32.add (local.get $v) (local.get $kv))
            (i32.add (local.get $out) (local.get $at))
            (i32.add (local.get $valid) (i32.shl (i32.mul (local.get $n) (local.get $S)) (i32.const 2)))
            (local.get $scratch)
            (i32.add (i32.sub (local.get $S) (local.get $T)) (i32.add (local.get $t) (i32.const 1))) ;; causal: columns ≤ its own
            (local.get $row))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $queries (i32.lt_u (local.get $t) (local.get $T))))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br_if $heads (i32.lt_u (local.get $h) (local.get $H))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $sequences (i32.lt_u (local.get $n) (local.get $N)))))

  ;; Copies `bytes` (a multiple of 16) from src to dst.
  (func $copy (param $dst i32) (param $src i32) (param $bytes i32)
    (local $d i32)
    (loop $vectors
      (v128.store (i32.add (local.get $dst) (local.get $d)) (v128.load (i32.add (local.get $src) (local.get $d))))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $vectors (i32.lt_u (local.get $d) (local.get $bytes)))))

  ;; Attention over a slot cache, one new token per entry m (a decoding sequence or a prompt token):
  ;;   writes k[m], v[m] into slot slots[m] at column positions[m] of kBuf, vBuf, then
  ;;   out[m, h, :] = softmax over s ≤ positions[m] of (q[m, h, :] · kBuf[slots[m], h/g, s, :]) applied to vBuf.
  ;; q [M, H, D] (scaled), k and v [M, Hkv, D], kBuf and vBuf [rows, Hkv, C, D], slots and positions [M] i32,
  ;; out [M, H, D], scratch [C rounded up to a multiple of 4] f32. Every token is written before any is read, so
  ;; entries of one prompt in one call see each other causally (each reads only up to its own column).
  (func (export "attend_slots")
    (param $q i32) (param $k i32) (param $v i32) (param $kBuf i32) (param $vBuf i32) (param $slots i32)
    (param $positions i32) (param $out i32) (param $scratch i32)
    (param $M i32) (param $H i32) (param $Hkv i32) (param $C i32) (param $D i32)
    (local $g i32) (local $row i32) (local $m i32) (local $h i32) (local $slot i32) (local $pos i32) (local $at i32)
    (local $column i32)
    (local.set $g (i32.div_u (local.get $H) (local.get $Hkv)))
    (local.set $row (i32.shl (local.get $D) (i32.const 2)))
    (local.set $m (i32.const 0))
    (loop $writes
      (local.set $slot (i32.load (i32.add (local.get $slots) (i32.shl (local.get $m) (i32.const 2)))))
      (local.set $pos (i32.load (i32.add (local.get $positions) (i32.shl (local.get $m) (i32.const 2)))))
      (local.set $h (i32.const 0))
      (loop $kv_heads
        ;; byte offset of [slot, h, pos] in the buffers and of [m, h] in k and v
        (local.set $column
          (i32.mul
            (i32.add (i32.mul (i32.add (i32.mul (local.get $slot) (local.get $Hkv)) (local.get $h)) (local.get $C)) (local.get $pos))
            (local.get $row)))
        (local.set $at (i32.mul (i32.add (i32.mul (local.get $m) (local.get $Hkv)) (local.get $h)) (local.get $row)))
        (call $copy (i32.add (local.get $kBuf) (local.get $column)) (i32.add (local.get $k) (local.get $at)) (local.get $row))
        (call $copy (i32.add (local.get $vBuf) (local.get $column)) (i32.add (local.get $v) (local.get $at)) (local.get $row))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br_if $kv_heads (i32.lt_u (local.get $h) (local.get $Hkv))))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br_if $writes (i32.lt_u (local.get $m) (local.get $M))))
    (local.set $m (i32.const 0))
    (loop $tokens
      (local.set $slot (i32.load (i32.add (local.get $slots) (i32.shl (local.get $m) (i32.const 2)))))
      (local.set $pos (i32.load (i32.add (local.get $positions) (i32.shl (local.get $m) (i32.const 2)))))
      (local.set $h (i32.const 0))
      (loop $heads
        ;; byte offset of [slot, h/g, 0] in the buffers and of [m, h] in q and out
        (local.set $column
          (i32.mul
            (i32.mul (i32.add (i32.mul (local.get $slot) (local.get $Hkv)) (i32.div_u (local.get $h) (local.get $g))) (local.get $C))
            (local.get $row)))
        (local.set $at (i32.mul (i32.add (i32.mul (local.get $m) (local.get $H)) (local.get $h)) (local.get $row)))
        (call $query
          (i32.add (local.get $q) (local.get $at))
          (i32.add (local.get $kBuf) (local.get $column))
          (i32.add (local.get $vBuf) (local.get $column))
          (i32.add (local.get $out) (local.get $at))
          (i32.const 0)
          (local.get $scratch)
          (i32.add (local.get $pos) (i32.const 1))
          (local.get $row))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br_if $heads (i32.lt_u (local.get $h) (local.get $H))))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br_if $tokens (i32.lt_u (local.get $m) (local.get $M))))))
