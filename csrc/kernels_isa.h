/* The rows of one ISA level: kernels_rows.h for double and float data, and the level's
 * table flr_isa##FLR_ISA.  Included by fastlogreg_kernels.c once per level, inside
 * `#pragma GCC target(...)` for the dispatched levels, with FLR_ISA (name suffix),
 * FLR_ISA_NAME and FLR_VL (doubles per vector) defined; undefines them at the end.
 *
 * Register budgets decide the shapes (x86-64: AVX-512 has 32 registers of 8 doubles,
 * AVX2 16 of 4, SSE2 16 of 2):
 *   FLR_VL           lanes of the dot products' accumulators, the width of every vector;
 *   FLR_SCORE_QUAD   softmax scores 4 rows x 4 classes at a time (16 accumulators) rather
 *                    than 4 rows x 2 classes (8);
 *   loadv_x2         the row loads of SFX(dot4x2), held in registers (SFX(loadv_kept))
 *                    on the AVX levels: GCC otherwise folds each into both FMAs that use
 *                    it, and the 4 x 2 tile is bound by loads (10 per 8 FMAs instead of 6);
 *   FLR_GROUP        classes per group of the softmax gradient update, whose register tile
 *                    is K classes x FLR_TILE_U(K) column vectors (plus the U vectors of x
 *                    and the broadcast residual). */
#if FLR_VL == 8
#define flr_vd flr_v8d
#define flr_vl flr_v8l
#define loadv_f64 load8_f64
#define sumv sum8
#define tail_keepv tail_keep8
#elif FLR_VL == 4
#define flr_vd flr_v4d
#define flr_vl flr_v4l
#define loadv_f64 load4_f64
#define sumv sum4
#define tail_keepv tail_keep4
#else
#error "FLR_VL must be 8 or 4"
#endif

#if defined(__AVX512F__) /* 32 registers */
#define loadv_x2 loadv_kept
#define FLR_SCORE_QUAD 1
#define FLR_GROUP 8
#define FLR_TILE_U(K) ((K) <= 5 ? 4 : 3)
#elif FLR_VL == 4 && defined(__AVX2__) /* 16 registers of 4: K U + U + 1 <= 16 */
#define FLR_SCORE_QUAD 0
#define loadv_x2 loadv_kept
#define FLR_GROUP 5
#define FLR_TILE_U(K) ((K) <= 2 ? 4 : (K) <= 3 ? 3 : 2)
#else /* 8-lane vectors split into smaller registers */
#define loadv_x2 loadv
#define FLR_SCORE_QUAD 0
#define FLR_GROUP 4
#define FLR_TILE_U(K) 1
#endif

#define REAL double
#define MATRIX struct flr_matrix_f64
#define FLR_F32 0
#define SFX(name) FLR_CAT3(name, _f64, FLR_ISA)
#include "kernels_rows.h"
#undef REAL
#undef MATRIX
#undef FLR_F32
#undef SFX

#define REAL float
#define MATRIX struct flr_matrix_f32
#define FLR_F32 1
#define SFX(name) FLR_CAT3(name, _f32, FLR_ISA)
#include "kernels_rows.h"
#undef REAL
#undef MATRIX
#undef FLR_F32
#undef SFX

#define FLR_ROW_FNS(t)                                                                          \
    FLR_CAT3(apply_segment, t, FLR_ISA), FLR_CAT3(bce_segment, t, FLR_ISA),                     \
    FLR_CAT3(binary_rows, t, FLR_ISA), FLR_CAT3(softmax_rows, t, FLR_ISA),                      \
    FLR_CAT3(logistic_hessp_rows, t, FLR_ISA), FLR_CAT3(softmax_hessp_rows, t, FLR_ISA)
#if defined(FLR_VECTOR)
static const struct flr_isa FLR_CAT3(flr_isa, FLR_ISA, ) = {
    FLR_ISA_NAME,
    {FLR_ROW_FNS(_f64), FLR_CAT3(binary_rows_narrow, _f64, FLR_ISA)},
    {FLR_ROW_FNS(_f32), FLR_CAT3(binary_rows_narrow, _f32, FLR_ISA)},
};
#else
static const struct flr_isa FLR_CAT3(flr_isa, FLR_ISA, ) = {FLR_ISA_NAME, {FLR_ROW_FNS(_f64)}, {FLR_ROW_FNS(_f32)}};
#endif
#undef FLR_ROW_FNS

#undef flr_vd
#undef flr_vl
#undef loadv_f64
#undef sumv
#undef tail_keepv
#undef FLR_SCORE_QUAD
#undef loadv_x2
#undef FLR_GROUP
#undef FLR_TILE_U
#undef FLR_ISA
#undef FLR_ISA_NAME
#undef FLR_VL
