/* tinykit audio front end (see tk_frontend.h). Tables and constants are generated from
 * features.json by tinykit/frontend.py; this file holds only the arithmetic. */
#include "tk_frontend.h"

#include <string.h>

#include "tk_frontend_tables.h"

#if !TK_FE_FIXED
#include <math.h>
#endif

static int8_t tk_fe_clamp_s8(int32_t v)
{
    if (v < TK_FE_OUT_MIN) {
        return (int8_t)TK_FE_OUT_MIN;
    }
    if (v > TK_FE_OUT_MAX) {
        return (int8_t)TK_FE_OUT_MAX;
    }
    return (int8_t)v;
}

static uint32_t tk_fe_bit_reverse(uint32_t i)
{
    uint32_t r = 0;
    for (uint32_t b = 0; b < TK_FE_FFT_LOG2; ++b) {
        r = (r << 1) | ((i >> b) & 1u);
    }
    return r;
}

#if TK_FE_FIXED

/* In-place radix-2 DIT FFT on int32 data with Q31 twiddles. Every intermediate value is bounded
 * by sum |input| < 2^30 (see tk_fe_spectrum), so no butterfly overflows. */
static void tk_fe_fft(int32_t *re, int32_t *im)
{
    for (uint32_t i = 0; i < TK_FE_FFT_LENGTH; ++i) {
        uint32_t j = tk_fe_bit_reverse(i);
        if (j > i) {
            int32_t t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (uint32_t m = 2; m <= TK_FE_FFT_LENGTH; m <<= 1) {
        uint32_t half = m >> 1;
        uint32_t step = TK_FE_FFT_LENGTH / m;
        for (uint32_t j = 0; j < half; ++j) {
            int64_t c = tk_fe_cos_q31[j * step];
            int64_t s = tk_fe_sin_q31[j * step];
            for (uint32_t k = j; k < TK_FE_FFT_LENGTH; k += m) {
                int32_t bre = re[k + half];
                int32_t bim = im[k + half];
                int32_t tre = (int32_t)((c * bre + s * bim + (INT64_C(1) << 30)) >> 31);
                int32_t tim = (int32_t)((c * bim - s * bre + (INT64_C(1) << 30)) >> 31);
                re[k + half] = re[k] - tre;
                im[k + half] = im[k] - tim;
                re[k] += tre;
                im[k] += tim;
            }
        }
    }
}

#if !TK_FE_POWER
static uint32_t tk_fe_isqrt64(uint64_t v)
{
    uint64_t res = 0;
    uint64_t bit = UINT64_C(1) << 62;
    while (bit > v) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    /* round to nearest: res^2 <= v0 < (res+1)^2; remainder v = v0 - res^2 */
    if (v > res) {
        ++res;
    }
    return (uint32_t)res;
}

#endif

/* log2(a) in Q24 for a > 0: integer part from the leading bit, 24 fraction bits by squaring. */
static int64_t tk_fe_log2_q24(uint64_t a)
{
    int msb = 63 - __builtin_clzll(a);
    uint64_t m = msb >= 30 ? a >> (msb - 30) : a << (30 - msb); /* Q30 mantissa in [1, 2) */
    int64_t frac = 0;
    for (int b = 23; b >= 0; --b) {
        m = (m * m) >> 30;
        if (m >= (UINT64_C(1) << 31)) {
            m >>= 1;
            frac |= INT64_C(1) << b;
        }
    }
    return ((int64_t)msb << 24) + frac;
}

/* Windowed frame -> spectrum. Block floating point: the frame is scaled by 2^value_exp, the
 * largest exponent for which sum |x * w| (which bounds every FFT value) stays below 2^30, so quiet
 * frames keep as many significant bits as loud ones. Returns value_exp. */
static int32_t tk_fe_spectrum(const int16_t *frame, tk_frontend_work *w)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < TK_FE_FRAME_LENGTH; ++i) {
        int64_t p = (int64_t)frame[i] * tk_fe_window_q31[i];
        sum += (uint64_t)(p < 0 ? -p : p);
    }
    int32_t bits = sum == 0 ? 0 : 64 - __builtin_clzll(sum);
    int32_t value_exp = TK_FE_WINDOW_EXP + 30 - bits;
    if (value_exp > TK_FE_VALUE_EXP_MAX) {
        value_exp = TK_FE_VALUE_EXP_MAX;
    }
    int32_t shift = TK_FE_WINDOW_EXP - value_exp; /* >= TK_FE_WINDOW_EXP - VALUE_EXP_MAX > 0 */
    for (uint32_t i = 0; i < TK_FE_FFT_LENGTH; ++i) {
        int32_t x = 0;
        if (i < TK_FE_FRAME_LENGTH) {
            int64_t p = (int64_t)frame[i] * tk_fe_window_q31[i];
            x = (int32_t)((p + (INT64_C(1) << (shift - 1))) >> shift);
        }
        w->re[i] = x;
        w->im[i] = 0;
    }
    tk_fe_fft(w->re, w->im);
    for (uint32_t i = 0; i < TK_FE_NUM_BINS; ++i) {
        int64_t re = w->re[i];
        int64_t im = w->im[i];
        uint64_t p = (uint64_t)(re * re) + (uint64_t)(im * im);
#if TK_FE_POWER
        w->spec[i] = p >> TK_FE_POWER_SHIFT;
#else
        w->spec[i] = tk_fe_isqrt64(p);
#endif
    }
    return value_exp;
}

static void tk_fe_log_mel(tk_frontend_work *w, int32_t value_exp)
{
#if TK_FE_POWER
    int32_t log_exp = 2 * value_exp - TK_FE_POWER_SHIFT + TK_FE_MEL_Q;
#else
    int32_t log_exp = value_exp + TK_FE_MEL_Q;
#endif
    uint64_t offset = tk_fe_log_offset_units[value_exp - TK_FE_VALUE_EXP_MIN];
    for (uint32_t b = 0; b < TK_FE_NUM_MEL; ++b) {
        uint64_t acc = offset;
        const uint32_t *wt = &tk_fe_mel_weights_q[tk_fe_mel_offset[b]];
        const uint32_t start = tk_fe_mel_start[b];
        for (uint32_t i = 0; i < tk_fe_mel_count[b]; ++i) {
            acc += (uint64_t)w->spec[start + i] * wt[i];
        }
        /* ln(acc * 2^-log_exp) = ln2 * (log2(acc) - log_exp), Q24 */
        int64_t l2 = tk_fe_log2_q24(acc) - ((int64_t)log_exp << 24);
        w->logmel[b] = (int32_t)((l2 * TK_FE_LN2_Q30 + (INT64_C(1) << 29)) >> 30);
    }
}

static int8_t tk_fe_quantize(int64_t v)
{
    int64_t q = (v * TK_FE_QUANT_MULT + (INT64_C(1) << (TK_FE_QUANT_SHIFT - 1))) >> TK_FE_QUANT_SHIFT;
    return tk_fe_clamp_s8((int32_t)q + TK_FE_ZERO_POINT);
}

void tk_frontend_frame(const int16_t *frame, int8_t *out, tk_frontend_work *work)
{
    tk_fe_log_mel(work, tk_fe_spectrum(frame, work));
#if TK_FE_MFCC
    for (uint32_t k = 0; k < TK_FE_NUM_COEFFS; ++k) {
        int64_t acc = 0;
        for (uint32_t n = 0; n < TK_FE_NUM_MEL; ++n) {
            acc += (int64_t)work->logmel[n] * tk_fe_dct_q28[n * TK_FE_NUM_COEFFS + k];
        }
        /* Q24 * Q28 = Q52 -> Q22 */
        out[k] = tk_fe_quantize((acc + (INT64_C(1) << 29)) >> 30);
    }
#else
    for (uint32_t n = 0; n < TK_FE_NUM_MEL; ++n) {
        out[n] = tk_fe_quantize(work->logmel[n]);
    }
#endif
}

#else /* float path */

static void tk_fe_fft(float *re, float *im)
{
    for (uint32_t i = 0; i < TK_FE_FFT_LENGTH; ++i) {
        uint32_t j = tk_fe_bit_reverse(i);
        if (j > i) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (uint32_t m = 2; m <= TK_FE_FFT_LENGTH; m <<= 1) {
        uint32_t half = m >> 1;
        uint32_t step = TK_FE_FFT_LENGTH / m;
        for (uint32_t j = 0; j < half; ++j) {
            float c = tk_fe_cos_f32[j * step];
            float s = tk_fe_sin_f32[j * step];
            for (uint32_t k = j; k < TK_FE_FFT_LENGTH; k += m) {
                float tre = c * re[k + half] + s * im[k + half];
                float tim = c * im[k + half] - s * re[k + half];
                re[k + half] = re[k] - tre;
                im[k + half] = im[k] - tim;
                re[k] += tre;
                im[k] += tim;
            }
        }
    }
}

static int8_t tk_fe_quantize(float v)
{
    /* as the host: round-half-even(v / scale + zero_point), in float32 */
    float t = v / TK_FE_INPUT_SCALE + (float)TK_FE_ZERO_POINT;
    return tk_fe_clamp_s8((int32_t)lrintf(t));
}

void tk_frontend_frame(const int16_t *frame, int8_t *out, tk_frontend_work *work)
{
    for (uint32_t i = 0; i < TK_FE_FFT_LENGTH; ++i) {
        work->re[i] = i < TK_FE_FRAME_LENGTH ? ((float)frame[i] * (1.0f / 32768.0f)) * tk_fe_window_f32[i]
                                             : 0.0f;
        work->im[i] = 0.0f;
    }
    tk_fe_fft(work->re, work->im);
    for (uint32_t i = 0; i < TK_FE_NUM_BINS; ++i) {
        float p = work->re[i] * work->re[i] + work->im[i] * work->im[i];
        work->spec[i] = TK_FE_POWER ? p : sqrtf(p);
    }
    for (uint32_t b = 0; b < TK_FE_NUM_MEL; ++b) {
        float acc = 0.0f;
        const float *wt = &tk_fe_mel_weights_f32[tk_fe_mel_offset[b]];
        const float *sp = &work->spec[tk_fe_mel_start[b]];
        for (uint32_t i = 0; i < tk_fe_mel_count[b]; ++i) {
            acc += sp[i] * wt[i];
        }
        work->logmel[b] = logf(acc + TK_FE_LOG_OFFSET);
    }
#if TK_FE_MFCC
    for (uint32_t k = 0; k < TK_FE_NUM_COEFFS; ++k) {
        float acc = 0.0f;
        for (uint32_t n = 0; n < TK_FE_NUM_MEL; ++n) {
            acc += work->logmel[n] * tk_fe_dct_f32[n * TK_FE_NUM_COEFFS + k];
        }
        out[k] = tk_fe_quantize(acc);
    }
#else
    for (uint32_t n = 0; n < TK_FE_NUM_MEL; ++n) {
        out[n] = tk_fe_quantize(work->logmel[n]);
    }
#endif
}

#endif /* TK_FE_FIXED */

tk_status tk_frontend_clip(const int16_t *pcm, size_t n_samples, int8_t *out, tk_frontend_work *work)
{
    if (pcm == NULL || out == NULL || work == NULL) {
        return TK_ERROR;
    }
    for (uint32_t f = 0; f < TK_FE_NUM_FRAMES; ++f) {
        size_t start = (size_t)f * TK_FE_FRAME_STEP;
        const int16_t *frame = &pcm[start];
        if (start + TK_FE_FRAME_LENGTH > n_samples) {
            size_t have = start < n_samples ? n_samples - start : 0;
            memset(work->frame, 0, sizeof(work->frame));
            if (have > 0) {
                memcpy(work->frame, &pcm[start], have * sizeof(int16_t));
            }
            frame = work->frame;
        }
        tk_frontend_frame(frame, &out[(size_t)f * TK_FE_NUM_COEFFS], work);
    }
    return TK_OK;
}
