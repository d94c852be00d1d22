/* tinykit on-device audio front end: the MFCC / log-mel features a model was trained with.
 *
 * The computation is specified by tinykit/data/features.py (recorded in features.json): framing,
 * periodic Hann window, FFT, magnitude (or power) spectrum, HTK mel filterbank, log(mel + offset),
 * DCT-II (MFCC only), then the int8 quantization with the model's input scale and zero point.
 * Every parameter and table comes from the generated tk_frontend_config.h / tk_frontend_tables.c.
 *
 * Two arithmetic paths share this API:
 *   TK_FE_FIXED == 0  float32 (cores with an FPU: Cortex-M4F, M7, M33F, M55)
 *   TK_FE_FIXED == 1  integer only (Cortex-M0+, M3): Q31 FFT, 64-bit accumulators, log2 by squaring
 * No malloc, no globals: the caller owns the work area.
 */
#ifndef TK_FRONTEND_H
#define TK_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "tk_frontend_config.h"
#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch for one frame (about 4 * TK_FE_FFT_LENGTH * 2 bytes + the spectrum). */
typedef struct {
    int16_t frame[TK_FE_FRAME_LENGTH]; /* zero-padded copy at the end of a short clip */
#if TK_FE_FIXED
    int32_t re[TK_FE_FFT_LENGTH];
    int32_t im[TK_FE_FFT_LENGTH];
#if TK_FE_POWER
    uint64_t spec[TK_FE_NUM_BINS]; /* |X|^2 >> TK_FE_POWER_SHIFT needs more than 32 bits */
#else
    uint32_t spec[TK_FE_NUM_BINS];
#endif
    int32_t logmel[TK_FE_NUM_MEL];
#else
    float re[TK_FE_FFT_LENGTH];
    float im[TK_FE_FFT_LENGTH];
    float spec[TK_FE_NUM_BINS];
    float logmel[TK_FE_NUM_MEL];
#endif
} tk_frontend_work;

/* Features of one frame of TK_FE_FRAME_LENGTH samples -> TK_FE_NUM_COEFFS int8 values. */
void tk_frontend_frame(const int16_t *frame, int8_t *out, tk_frontend_work *work);

/* Features of one clip: n_samples of PCM (zero-padded to TK_FE_CLIP_SAMPLES, extra samples
 * ignored) -> TK_FE_NUM_FRAMES * TK_FE_NUM_COEFFS int8 values, frame-major (the model input). */
tk_status tk_frontend_clip(const int16_t *pcm, size_t n_samples, int8_t *out, tk_frontend_work *work);

#ifdef __cplusplus
}
#endif

#endif /* TK_FRONTEND_H */
