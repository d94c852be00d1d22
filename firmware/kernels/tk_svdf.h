/* SVDF on int8 input and output, bit-exact with TFLite Micro's integer reference SVDF.
 *
 * The state is a variable tensor of batches x (filters x memory) values, int16 with int16 time
 * weights (tk_svdf_s8, TFLM's usual "int8 SVDF") or int8 with int8 time weights (tk_svdf_s8_state8).
 * Each invocation shifts every filter's row of the state left by one, writes the requantized
 * feature product (input . feature weights) into its last column, and sums the time weights'
 * products with the rows over the rank filters of each unit, plus the bias, into the output.
 * The state is an input the kernel overwrites, so it comes after the input (argument order:
 * params, input, state, output). No scratch: each unit's sum is kept in a register.
 */
#ifndef TK_SVDF_H
#define TK_SVDF_H

#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t batches;
    int32_t input_size;
    int32_t filters;
    int32_t rank;   /* filters per unit */
    int32_t memory; /* columns of a filter's row of the state */
    /* filters x input_size feature weights as [filter quad][k / 4][4][4] (tk_mac_s8.h), padded */
    const int8_t *weights_feature;
    const int32_t *feature_bias;  /* filters padded to 4: -input zero point * sum(row), int32 wrap */
    tk_quant_params feature_q;    /* input x feature weights scale -> state scale */
    int32_t state_zero_point;
    const int16_t *weights_time16; /* filters x memory, tk_svdf_s8 (else NULL) */
    const int8_t *weights_time8;   /* filters x memory, tk_svdf_s8_state8 (else NULL) */
    const int32_t *time_bias;      /* filters: -state zero point * sum(time weights row), int32 wrap */
    const int32_t *bias;           /* units */
    tk_quant_params output_q;      /* state x time weights scale -> output scale */
    int32_t output_offset;
} tk_svdf_params;

tk_status tk_svdf_s8(const tk_svdf_params *params, const int8_t *input, int16_t *state, int8_t *output);
tk_status tk_svdf_s8_state8(const tk_svdf_params *params, const int8_t *input, int8_t *state, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_SVDF_H */
