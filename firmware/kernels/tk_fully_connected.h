/* FULLY_CONNECTED int8, per-tensor or per-channel int8 weights, int32 bias: TFLite semantics. */
#ifndef TK_FULLY_CONNECTED_H
#define TK_FULLY_CONNECTED_H

#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t batches;      /* rows of the input viewed as batches x depth */
    int32_t depth;        /* accumulation depth (weights' second dimension) */
    int32_t units;        /* output channels (weights' first dimension) */
    int32_t input_offset; /* -input zero point */
    int32_t output_offset;
    tk_activation act;
    /* units x depth weights rearranged at generation time as [unit quad][depth / 4][4 units][4 values],
     * depth padded to a multiple of 4 and units to a multiple of 4 with zeros (tk_fully_connected.c).
     * Helium (MVE) builds: the layer's Helium stream instead (tk_fully_connected_mve.c), and NULL
     * bias, multipliers and shifts. */
    const int8_t *filter_data;
    const int32_t *bias;        /* units entries: model bias + input_offset * sum(row); never NULL */
    const int32_t *multipliers; /* units entries, or 1 for per-tensor weights */
    const int8_t *shifts;       /* units entries, or 1 for per-tensor weights; in [-31, 30] */
    int32_t per_channel;        /* 0: multipliers[0] / shifts[0] for every unit */
    /* 1 when the generator proved every shift <= -1 and |accumulator| < 2^30 for any input:
     * the kernel may use tk_requantize_s8_fast (same result, fewer instructions) */
    int32_t fast_requant;
    /* 1 when the generator proved tk_requant_hi exact for this layer with hi_c =
     * tk_requant_hi_c(shift, output_offset), else 0. Non-zero takes precedence over fast_requant. */
    int32_t requant_hi;
} tk_fully_connected_params;

tk_status tk_fully_connected_s8(const tk_fully_connected_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_FULLY_CONNECTED_H */
