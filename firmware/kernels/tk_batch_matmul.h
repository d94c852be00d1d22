/* BATCH_MATMUL int8 (int32 accumulator) and int16 (int64 accumulator): TFLite semantics, with
 * adj_x / adj_y and broadcast batch dimensions, constant or non-constant operands. */
#ifndef TK_BATCH_MATMUL_H
#define TK_BATCH_MATMUL_H

#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t batches; /* output batches (the broadcast batch dimensions, flattened) */
    int32_t rows;    /* M: output rows */
    int32_t cols;    /* N: output columns */
    int32_t depth;   /* K: accumulation depth */
    int32_t adj_x;   /* lhs stored [K][M] (transposed) instead of [M][K] */
    int32_t adj_y;   /* rhs stored [N][K] (transposed) instead of [K][N] */
    const int32_t *lhs_offsets; /* per output batch: element offset of its lhs matrix */
    const int32_t *rhs_offsets; /* per output batch: element offset of its rhs matrix */
    int32_t lhs_offset;         /* -lhs zero point (int8; 0 for int16) */
    int32_t rhs_offset;         /* -rhs zero point (int8; 0 for int16) */
    int32_t output_offset;      /* output zero point (int8; 0 for int16) */
    /* int8: QuantizeMultiplier's multiplier and shift (gemmlowp MultiplyByQuantizedMultiplier);
     * int16: the reduced multiplier and total right shift of MultiplyByQuantizedMultiplier(int64_t) */
    int32_t multiplier;
    int32_t shift;
} tk_batch_matmul_params;

/* Scratch bytes: both operands of one batch as int16 rows with the zero points subtracted,
 * (M + N) * K rounded up to even * 2. */
size_t tk_batch_matmul_buffer_size(const tk_batch_matmul_params *params);

tk_status tk_batch_matmul_s8(const tk_batch_matmul_params *params, const int8_t *lhs, const int8_t *rhs,
                             int8_t *output, void *scratch);
tk_status tk_batch_matmul_s16(const tk_batch_matmul_params *params, const int16_t *lhs, const int16_t *rhs,
                              int16_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_BATCH_MATMUL_H */
