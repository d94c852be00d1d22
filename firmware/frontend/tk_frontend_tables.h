/* Tables of the audio front end, defined in the generated tk_frontend_tables.c. */
#ifndef TK_FRONTEND_TABLES_H
#define TK_FRONTEND_TABLES_H

#include <stdint.h>

#include "tk_frontend_config.h"

/* Sparse mel filterbank: band b uses spectrum bins [start, start + count) with the weights at
 * [offset, offset + count). */
extern const uint16_t tk_fe_mel_start[TK_FE_NUM_MEL];
extern const uint16_t tk_fe_mel_count[TK_FE_NUM_MEL];
extern const uint16_t tk_fe_mel_offset[TK_FE_NUM_MEL];

#if TK_FE_FIXED
extern const int32_t tk_fe_window_q31[TK_FE_FRAME_LENGTH];
extern const uint64_t tk_fe_log_offset_units[TK_FE_VALUE_EXP_MAX - TK_FE_VALUE_EXP_MIN + 1];
extern const int32_t tk_fe_cos_q31[TK_FE_FFT_LENGTH / 2];
extern const int32_t tk_fe_sin_q31[TK_FE_FFT_LENGTH / 2];
extern const uint32_t tk_fe_mel_weights_q[TK_FE_MEL_WEIGHTS];
#if TK_FE_MFCC
extern const int32_t tk_fe_dct_q28[TK_FE_NUM_MEL * TK_FE_NUM_COEFFS];
#endif
#else
extern const float tk_fe_window_f32[TK_FE_FRAME_LENGTH];
extern const float tk_fe_cos_f32[TK_FE_FFT_LENGTH / 2];
extern const float tk_fe_sin_f32[TK_FE_FFT_LENGTH / 2];
extern const float tk_fe_mel_weights_f32[TK_FE_MEL_WEIGHTS];
#if TK_FE_MFCC
extern const float tk_fe_dct_f32[TK_FE_NUM_MEL * TK_FE_NUM_COEFFS];
#endif
#endif

#endif /* TK_FRONTEND_TABLES_H */
