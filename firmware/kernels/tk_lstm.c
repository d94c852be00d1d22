/* UNIDIRECTIONAL_SEQUENCE_LSTM int8 and 16x8: see tk_lstm.h.
 *
 * Differences from TFLM's loop that leave every byte the same: the input and hidden zero points
 * are folded into per-row biases at generation time (TFLM's int32 sums wrap the same way; the
 * 16x8 sums are exact int64 either way); all four gates are computed before the cell update
 * (TFLM computes the output gate after it, but from the same, not yet updated, hidden state); the
 * gate activations are applied in the elementwise pass. Batch rows are independent, so one loop
 * serves the batch-major and the time-major layout.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_lstm.h"

#include "tk_mac_s8.h"
#include "tk_sigmoid16.h"

#define TK_LSTM_GATES 4

static int32_t ceil4(int32_t n)
{
    return (n + 3) & ~3;
}

size_t tk_lstm_s8_buffer_size(int32_t input_size, int32_t state_size)
{
    (void)input_size;
    return (size_t)TK_LSTM_GATES * (size_t)ceil4(state_size) * sizeof(int16_t);
}

size_t tk_lstm_s16_buffer_size(int32_t input_size, int32_t state_size)
{
    return tk_lstm_s8_buffer_size(input_size, state_size) +
           (size_t)(ceil4(input_size) + ceil4(state_size)) * sizeof(int16_t);
}

/* TFLM's FC output stage for a gate (offset 0, int16 range) then its saturating AddElementWise. */
TK_INLINE int16_t gate_sum_s8(int32_t acc_in, tk_quant_params qi, int32_t acc_rec, tk_quant_params qr)
{
    const int32_t a = tk_sat_s16(tk_requantize(acc_in, qi.multiplier, qi.shift));
    const int32_t c = tk_sat_s16(tk_requantize(acc_rec, qr.multiplier, qr.shift));
    return tk_sat_s16(a + c);
}

/* Every gate's pre-activation of one batch row: four rows per pass for the input and the
 * recurrent product. */
static void gates_s8(const tk_lstm_params *p, const int8_t *x, const int8_t *h, int16_t *gates)
{
    const int32_t s4 = ceil4(p->dims.state_size);
    const int32_t gi = ceil4(p->dims.input_size) >> 2, gs = s4 >> 2;
    const int8_t *wi = p->input_weights, *wr = p->recurrent_weights;
    for (int32_t g = 0; g < TK_LSTM_GATES; ++g) {
        const tk_quant_params qi = p->input_q[g], qr = p->recurrent_q[g];
        for (int32_t r = g * s4; r < (g + 1) * s4; r += 4, wi += 16 * gi, wr += 16 * gs) {
            int32_t a[4] = {p->input_bias[r], p->input_bias[r + 1], p->input_bias[r + 2], p->input_bias[r + 3]};
            int32_t c[4] = {p->recurrent_bias[r], p->recurrent_bias[r + 1], p->recurrent_bias[r + 2],
                            p->recurrent_bias[r + 3]};
            tk_mac_s8_4x1(wi, x, gi, p->dims.input_size, a);
            tk_mac_s8_4x1(wr, h, gs, p->dims.state_size, c);
            for (int32_t j = 0; j < 4; ++j) {
                gates[r + j] = gate_sum_s8(a[j], qi, c[j], qr);
            }
        }
    }
}

/* One 16x8 stage (input or recurrent product) of four rows starting at row r, to int16. */
TK_INLINE void stage_s16(const tk_s16_requant *q, int32_t mode, const int8_t *w, const int16_t *x, int32_t groups,
                         int32_t r, int32_t out[4])
{
    if (mode == TK_S16_ACC64) {
        int64_t s[4] = {tk_s16_bias64(q, r), tk_s16_bias64(q, r + 1), tk_s16_bias64(q, r + 2),
                        tk_s16_bias64(q, r + 3)};
        tk_mac_s16_4x1_wide(w, x, groups, s);
        for (int32_t j = 0; j < 4; ++j) {
            out[j] = tk_s16_output(q, mode, r + j, s[j]);
        }
    } else {
        int32_t a[4] = {q->bias32[r], q->bias32[r + 1], q->bias32[r + 2], q->bias32[r + 3]};
        tk_mac_s16_4x1(w, x, groups, a);
        for (int32_t j = 0; j < 4; ++j) {
            out[j] = tk_s16_output(q, mode, r + j, a[j]);
        }
    }
}

/* x and h: 4-byte aligned copies padded with zeros to whole groups of 4. */
static void gates_s16(const tk_lstm_s16_params *p, const int16_t *x, const int16_t *h, int16_t *gates)
{
    const int32_t s4 = ceil4(p->dims.state_size);
    const int32_t gi = ceil4(p->dims.input_size) >> 2, gs = s4 >> 2;
    const int32_t mi = tk_s16_mode_of(&p->input_stage), mr = tk_s16_mode_of(&p->recurrent_stage);
    const int8_t *wi = p->input_weights, *wr = p->recurrent_weights;
    for (int32_t r = 0; r < TK_LSTM_GATES * s4; r += 4, wi += 16 * gi, wr += 16 * gs) {
        int32_t a[4], c[4];
        stage_s16(&p->input_stage, mi, wi, x, gi, r, a);
        stage_s16(&p->recurrent_stage, mr, wr, h, gs, r, c);
        for (int32_t j = 0; j < 4; ++j) {
            gates[r + j] = tk_sat_s16(a[j] + c[j]);
        }
    }
}

TK_INLINE int32_t mul_s16(int32_t a, int32_t b, tk_quant_params q)
{
    return tk_requantize(a * b, q.multiplier, q.shift);
}

/* The new cell state and the gated tanh of it, element i (TFLM's UpdateLstmCell/UpdateLstmHidden
 * with its Mul, AddElementWise, Clipping and Tanh). Returns the hidden value before its cast. */
TK_INLINE int32_t cell_step(const tk_lstm_cell *c, const int16_t *gates, int32_t s4, int32_t i, int16_t *cell)
{
    const uint16_t *t = c->sigmoid_table;
    const int16_t in_gate = tk_logistic16(gates[i], 3, 0, t);
    const int16_t forget = tk_logistic16(gates[s4 + i], 3, 0, t);
    const int16_t cell_gate = tk_tanh16(gates[2 * s4 + i], 3, 0, t);
    const int16_t out_gate = tk_logistic16(gates[3 * s4 + i], 3, 0, t);
    const int32_t kept = tk_sat_s16(mul_s16(forget, cell[i], c->forget_mul));
    const int32_t added = tk_sat_s16(mul_s16(in_gate, cell_gate, c->input_mul));
    int32_t updated = tk_sat_s16(kept + added);
    if (c->cell_clip >= 0) {
        updated = tk_clamp_s32(updated, -c->cell_clip, c->cell_clip);
    }
    cell[i] = (int16_t)updated;
    const int16_t squashed = tk_tanh16((int16_t)updated, c->cell_tanh_multiplier, c->cell_tanh_shift, t);
    return tk_clamp_s32(mul_s16(squashed, out_gate, c->output_mul) + c->hidden_offset, c->hidden_range.min,
                        c->hidden_range.max);
}

/* Input and output rows of step t of batch row b in the tensor's layout. */
TK_INLINE size_t row_index(const tk_lstm_dims *d, int32_t t, int32_t b)
{
    return d->time_major ? (size_t)t * (size_t)d->batches + (size_t)b : (size_t)b * (size_t)d->time_steps + (size_t)t;
}

tk_status tk_lstm_s8(const tk_lstm_params *params, const int8_t *input, int8_t *hidden, int16_t *cell,
                     int8_t *output, void *scratch)
{
    const tk_lstm_dims *d = &params->dims;
    const int32_t s4 = ceil4(d->state_size), n = d->state_size;
    int16_t *gates = (int16_t *)scratch;
    for (int32_t t = 0; t < d->time_steps; ++t) {
        for (int32_t b = 0; b < d->batches; ++b) {
            const size_t row = row_index(d, t, b);
            int8_t *h = hidden + (size_t)b * (size_t)n, *out = output + row * (size_t)n;
            int16_t *c = cell + (size_t)b * (size_t)n;
            gates_s8(params, input + row * (size_t)d->input_size, h, gates);
            for (int32_t i = 0; i < n; ++i) {
                h[i] = (int8_t)cell_step(&params->cell, gates, s4, i, c);
                out[i] = h[i];
            }
        }
    }
    return TK_OK;
}

static void copy_s16(int16_t *dst, const int16_t *src, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

tk_status tk_lstm_s16(const tk_lstm_s16_params *params, const int16_t *input, int16_t *hidden, int16_t *cell,
                      int16_t *output, void *scratch)
{
    const tk_lstm_dims *d = &params->dims;
    const int32_t s4 = ceil4(d->state_size), i4 = ceil4(d->input_size), n = d->state_size;
    int16_t *gates = (int16_t *)scratch;
    int16_t *x = gates + TK_LSTM_GATES * s4, *hcopy = x + i4;
    for (int32_t i = 0; i < i4 + s4; ++i) {
        x[i] = 0; /* the padding of both copies stays zero */
    }
    for (int32_t t = 0; t < d->time_steps; ++t) {
        for (int32_t b = 0; b < d->batches; ++b) {
            const size_t row = row_index(d, t, b);
            int16_t *h = hidden + (size_t)b * (size_t)n, *out = output + row * (size_t)n;
            int16_t *c = cell + (size_t)b * (size_t)n;
            copy_s16(x, input + row * (size_t)d->input_size, d->input_size);
            copy_s16(hcopy, h, n);
            gates_s16(params, x, hcopy, gates);
            for (int32_t i = 0; i < n; ++i) {
                h[i] = (int16_t)cell_step(&params->cell, gates, s4, i, c);
                out[i] = h[i];
            }
        }
    }
    return TK_OK;
}
