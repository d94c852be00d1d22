/* UNIDIRECTIONAL_SEQUENCE_LSTM, bit-exact with TFLite Micro's integer LSTM (lstm_eval.h).
 *
 * tk_lstm_s8: int8 input, hidden state and output, int8 weights, int32 biases, int16 cell state.
 * tk_lstm_s16 (16x8): int16 input, hidden state and output, int8 weights, int64 biases.
 * Each time step of each batch row computes the four gates (input, forget, cell, output): an input
 * and a recurrent fully connected product, each requantized to Q3.12 and saturated to int16, their
 * saturating sum through a sigmoid (tanh for the cell gate) in TFLM's int16 table arithmetic
 * (tk_sigmoid16.h); then cell = forget * cell + input * cell gate (clipped), and hidden =
 * tanh(cell) * output gate, which is also that step's output. The hidden and cell state are
 * variable tensors the kernel overwrites (arguments after the input, before the output).
 * The gate products are the cost: four rows at a time with SMLAD (tk_mac_s8.h, tk_mac_s16.h).
 */
#ifndef TK_LSTM_H
#define TK_LSTM_H

#include "tk_mac_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The elementwise part of a step, the same for both types. */
typedef struct {
    tk_quant_params forget_mul; /* forget gate (Q0.15) x cell state -> cell state */
    tk_quant_params input_mul;  /* input gate (Q0.15) x cell gate (Q0.15) -> cell state */
    tk_quant_params output_mul; /* tanh(cell) (Q0.15) x output gate (Q0.15) -> hidden state */
    int32_t hidden_offset;      /* hidden state zero point */
    tk_activation hidden_range; /* the hidden state type's range */
    int32_t cell_clip;          /* quantized cell clip (>= 0); -1: no clipping */
    int32_t cell_tanh_multiplier; /* tanh(cell state) input rescaling (tk_sigmoid16.h) */
    int32_t cell_tanh_shift;
    const uint16_t *sigmoid_table; /* TFLM's 256-entry Q0.16 sigmoid table */
} tk_lstm_cell;

/* Sizes and layout: gates in the order input, forget, cell, output, each gate's rows padded with
 * zero rows to S4 = state_size rounded up to 4, rows padded with zeros to a multiple of 4 values. */
typedef struct {
    int32_t time_steps;
    int32_t batches;
    int32_t input_size;
    int32_t state_size;
    int32_t time_major; /* input [time][batch][input] instead of [batch][time][input] */
} tk_lstm_dims;

typedef struct {
    tk_lstm_dims dims;
    const int8_t *input_weights;     /* 4 x S4 rows x input_size as tk_mac_s8.h quads */
    const int8_t *recurrent_weights; /* 4 x S4 rows x state_size as tk_mac_s8.h quads */
    const int32_t *input_bias;       /* 4 x S4: gate bias + input offset * sum(row), int32 wrap */
    const int32_t *recurrent_bias;   /* 4 x S4: hidden offset * sum(row), int32 wrap */
    tk_quant_params input_q[4];      /* per gate: input x weights scale -> 2^-12 */
    tk_quant_params recurrent_q[4];  /* per gate: hidden x weights scale -> 2^-12 */
    tk_lstm_cell cell;
} tk_lstm_params;

typedef struct {
    tk_lstm_dims dims;
    const int8_t *input_weights;     /* 4 x S4 rows x input_size as tk_mac_s16.h 4x1 groups */
    const int8_t *recurrent_weights; /* 4 x S4 rows x state_size as tk_mac_s16.h 4x1 groups */
    tk_s16_requant input_stage;      /* per row: int64 gate bias (+ offsets), requantization to 2^-12 */
    tk_s16_requant recurrent_stage;  /* per row: offsets only */
    tk_lstm_cell cell;
} tk_lstm_s16_params;

size_t tk_lstm_s8_buffer_size(int32_t input_size, int32_t state_size);
size_t tk_lstm_s16_buffer_size(int32_t input_size, int32_t state_size);

tk_status tk_lstm_s8(const tk_lstm_params *params, const int8_t *input, int8_t *hidden, int16_t *cell,
                     int8_t *output, void *scratch);
tk_status tk_lstm_s16(const tk_lstm_s16_params *params, const int16_t *input, int16_t *hidden, int16_t *cell,
                      int16_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_LSTM_H */
