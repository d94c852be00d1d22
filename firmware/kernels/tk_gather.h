/* Index-driven copies whose indices are read at run time: GATHER and EMBEDDING_LOOKUP (int8),
 * GATHER_ND (int8), DYNAMIC_UPDATE_SLICE (int8, int16, int32).
 *
 * Loop sizes come from TFLite Micro's Eval, computed by the generator. Out-of-range indices:
 * GATHER_ND and EMBEDDING_LOOKUP fail the invocation as TFLM does (TK_ERROR); GATHER's are undefined
 * in TFLM (no check in release builds), tinykit fails too rather than read outside the tensor;
 * DYNAMIC_UPDATE_SLICE clamps its start indices into range, as TFLM.
 */
#ifndef TK_GATHER_H
#define TK_GATHER_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GATHER: input viewed as [batch][outer][axis_size][inner], coords as [batch][coords]. */
typedef struct {
    int32_t batch;
    int32_t outer;
    int32_t axis_size;
    int32_t coords;
    int32_t inner;
} tk_gather_params;

tk_status tk_gather_s8(const tk_gather_params *params, const int8_t *input, const int32_t *coords, int8_t *output);

#define TK_GATHER_ND_MAX 5

/* GATHER_ND: `slices` index tuples of `nd` values; each selects `slice_size` contiguous elements
 * starting at sum(index[j] * dim_counts[j]), which must lie inside the `params_size` elements. */
typedef struct {
    int32_t slices;
    int32_t nd;
    int32_t slice_size;
    int32_t params_size;
    int32_t dim_counts[TK_GATHER_ND_MAX];
} tk_gather_nd_params;

tk_status tk_gather_nd_s8(const tk_gather_nd_params *params, const int8_t *input, const int32_t *indices,
                          int8_t *output);

#define TK_UPDATE_MAX_DIMS 6

/* DYNAMIC_UPDATE_SLICE: output = operand with `update` written at the clamped start indices
 * (int32 or int64, per `indices_64`). The output may be the operand's own memory (in place). */
typedef struct {
    int32_t rank;
    int32_t operand[TK_UPDATE_MAX_DIMS];
    int32_t update[TK_UPDATE_MAX_DIMS];
    int32_t indices_64;
} tk_dynamic_update_slice_params;

tk_status tk_dynamic_update_slice_s8(const tk_dynamic_update_slice_params *params, const int8_t *operand,
                                     const int8_t *update, const void *starts, int8_t *output);
tk_status tk_dynamic_update_slice_s16(const tk_dynamic_update_slice_params *params, const int16_t *operand,
                                      const int16_t *update, const void *starts, int16_t *output);
tk_status tk_dynamic_update_slice_s32(const tk_dynamic_update_slice_params *params, const int32_t *operand,
                                      const int32_t *update, const void *starts, int32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_GATHER_H */
