/* DEPTHWISE_CONV_2D int8 on Helium (MVE): each output is one VMLADAV over its window.
 *
 * For every output row the kh input rows it reads are transposed into channel planes,
 * plane[c][x][fy] (x over the zero-point padded row, fy over the kh rows), with scatter stores of
 * eight channels at a time. In a plane the window of output pixel ox starts at byte
 * ox * stride_w * kh and, with dilation_w 1, is kw * kh consecutive bytes: one or two vector
 * loads, reduced against the channel's weights (arranged [fx][fy] and padded with zeros to whole
 * chunks of 16 at generation time) by VMLADAV. With dilation_w > 1 each filter column is its own
 * run of kh bytes, dilation_w * kh apart. Four output channels are requantized as one vector.
 *
 * Bit-exact with TFLite's reference DepthwiseConvPerChannel as tk_depthwise_conv2d.c is: padded taps
 * hold the input zero point and input_offset * sum(w) is in the bias. Zero weights make the bytes a
 * window load reads past the window add nothing; the last block of channels loads with a predicate
 * so that nothing past the planes is read. The planes take exactly the bytes of the portable
 * kernel's padded rows (kh * padded width * input channels).
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_depthwise_conv2d_mve.h"

#ifdef TK_USE_MVE

/* How the planes and windows of a layer lie (all in bytes). */
typedef struct {
    int32_t width;    /* padded row: every input column the output row reads */
    int32_t plane;    /* one input channel: width * kh */
    int32_t step;     /* window start per output pixel: stride_w * kh */
    int32_t runs;     /* runs per window: 1 with dilation_w 1, else kw */
    int32_t run;      /* bytes per run: kw * kh with dilation_w 1, else kh */
    int32_t run_step; /* between runs: dilation_w * kh */
    int32_t chunks;   /* 16-byte chunks per run */
    int32_t last;     /* the first output channel reading the last plane: its loads stop at the run's end */
} mve_dw_geometry;

static mve_dw_geometry mve_dw_geometry_of(const tk_depthwise_conv2d_params *p)
{
    mve_dw_geometry g;
    const int32_t kh = p->filter.h;
    g.run = p->dilation_w == 1 ? p->filter.w * kh : kh;
    g.width = (p->output.w - 1) * p->stride_w + (p->filter.w - 1) * p->dilation_w + 1;
    g.plane = g.width * kh;
    g.step = p->stride_w * kh;
    g.runs = p->dilation_w == 1 ? 1 : p->filter.w;
    g.run_step = p->dilation_w * kh;
    g.chunks = (g.run + TK_MVE_CHUNK - 1) / TK_MVE_CHUNK;
    g.last = (p->input.c - 1) * p->depth_multiplier;
    return g;
}

/* Byte fy of column x of every channel plane (dst: channel 0's byte): eight channels per scatter
 * store (lane c at c * plane, `lanes`), from the input pixel at src. */
TK_INLINE void mve_dw_scatter(const int8_t *src, int32_t channels, int32_t plane, int8_t *dst, uint16x8_t lanes)
{
    int32_t c = 0;
    for (; c + 8 <= channels; c += 8, dst += 8 * plane) {
        vstrbq_scatter_offset_s16(dst, lanes, vldrbq_s16(src + c));
    }
    if (c < channels) {
        const mve_pred16_t pr = vctp16q((uint32_t)(channels - c));
        vstrbq_scatter_offset_p_s16(dst, lanes, vldrbq_z_s16(src + c, pr), pr);
    }
}

/* The same with the input zero point (`pad`), for columns x0 <= x < x1 of the padding. */
static void mve_dw_pad(int32_t x0, int32_t x1, int32_t kh, int32_t channels, int32_t plane, int8_t *dst,
                       uint16x8_t lanes, int16x8_t pad)
{
    for (int32_t x = x0; x < x1; ++x) {
        int8_t *d = dst + x * kh;
        int32_t c = 0;
        for (; c + 8 <= channels; c += 8, d += 8 * plane) {
            vstrbq_scatter_offset_s16(d, lanes, pad);
        }
        if (c < channels) {
            vstrbq_scatter_offset_p_s16(d, lanes, pad, vctp16q((uint32_t)(channels - c)));
        }
    }
}

/* The planes of very wide rows, byte by byte: the scatter stores' 16-bit offsets reach the first
 * eight planes only while 7 * plane <= UINT16_MAX. Rare: compiled for size (cold). */
#if defined(__GNUC__)
__attribute__((cold))
#endif
static void mve_dw_planes_wide(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g, const int8_t *in,
                               int32_t oy, int8_t *planes)
{
    const int32_t kh = p->filter.h, channels = p->input.c;
    for (int32_t fy = 0; fy < kh; ++fy) {
        const int32_t y = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
        for (int32_t x = 0; x < g->width; ++x) {
            const int32_t ix = x - p->pad_w;
            const int32_t inside = y >= 0 && y < p->input.h && ix >= 0 && ix < p->input.w;
            const int8_t *src =
                inside ? in + ((size_t)y * (size_t)p->input.w + (size_t)ix) * (size_t)channels : NULL;
            int8_t *dst = planes + x * kh + fy;
            for (int32_t c = 0; c < channels; ++c, dst += g->plane) {
                *dst = src != NULL ? src[c] : (int8_t)(-p->input_offset);
            }
        }
    }
}

/* The planes of output row oy (see the top of the file): per filter row, the padding columns on
 * the left, the input row's pixels, the padding on the right (or all padding above / below). */
static void mve_dw_planes(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g, const int8_t *in,
                          int32_t oy, int8_t *planes)
{
    const int32_t kh = p->filter.h, channels = p->input.c, plane = g->plane, width = g->width;
    const int16x8_t pad = vdupq_n_s16((int16_t)(-p->input_offset));
    const uint16x8_t lanes = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)plane);
    const int32_t x_lo = p->pad_w < width ? p->pad_w : width;
    const int32_t x_hi = p->pad_w + p->input.w < width ? p->pad_w + p->input.w : width;
    for (int32_t fy = 0; fy < kh; ++fy) {
        const int32_t y = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
        int8_t *dst = planes + fy;
        if (y < 0 || y >= p->input.h) {
            mve_dw_pad(0, width, kh, channels, plane, dst, lanes, pad);
            continue;
        }
        {
            const int8_t *src = in + ((size_t)y * (size_t)p->input.w) * (size_t)channels;
            mve_dw_pad(0, x_lo, kh, channels, plane, dst, lanes, pad);
            for (int32_t x = x_lo; x < x_hi; ++x) {
                mve_dw_scatter(src + (size_t)(x - p->pad_w) * (size_t)channels, channels, plane, dst + x * kh, lanes);
            }
            mve_dw_pad(x_hi, width, kh, channels, plane, dst, lanes, pad);
        }
    }
}

/* The four window sums of output channels oc .. oc + 3 at window offset `at` in their planes
 * (lanes past `n` channels read nothing and give 0; the last plane is read only up to each run's
 * end, as it ends the scratch). The block's weights are at *s, which advances past them. */
TK_INLINE int32x4_t mve_dw_sums(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g,
                                const int8_t *planes, int32_t oc, int32_t at, const int8_t **s, int32_t n)
{
    int32_t acc[TK_MVE_BLOCK] = {0, 0, 0, 0};
    const int8_t *w = *s;
    for (int32_t r = 0; r < g->runs; ++r) {
        for (int32_t k = 0; k < g->chunks; ++k, w += TK_MVE_BLOCK * TK_MVE_CHUNK) {
            const int32_t off = at + r * g->run_step + k * TK_MVE_CHUNK;
            for (int32_t j = 0; j < TK_MVE_BLOCK; ++j) {
                const int8_t *x = planes + (size_t)((oc + j) / p->depth_multiplier) * (size_t)g->plane + off;
                const int8x16_t v = j >= n ? vdupq_n_s8(0)
                                    : oc + j >= g->last ? vldrbq_z_s8(x, vctp8q((uint32_t)(g->run - k * TK_MVE_CHUNK)))
                                                        : vldrbq_s8(x);
                acc[j] = vmladavaq_s8(acc[j], v, vldrbq_s8(w + j * TK_MVE_CHUNK));
            }
        }
    }
    *s = w;
    {
        int32x4_t v = vdupq_n_s32(acc[0]);
        v = vsetq_lane_s32(acc[1], v, 1);
        v = vsetq_lane_s32(acc[2], v, 2);
        return vsetq_lane_s32(acc[3], v, 3);
    }
}

/* One window load of channel J's plane pointer, which then moves to the next pixel: by an
 * immediate (STEP ", #3", ", #6") or by the step register (STEP "", then ADVANCE). PRED "t" is
 * the load under the predicate pr (VPST). */
#define TK_DW_LOAD(J, STEP, PRED)                                                              \
    "vldrb" PRED ".8 %q[x], [%[p" J "]]" STEP "\n\t"

/* A block of four channels of the common layer (depth multiplier 1, windows of at most 16
 * contiguous bytes) over the row's pixels: the block's weights stay in four vector registers; per
 * pixel four loads and four VMLADAV, the four sums packed into one vector and requantized with the
 * block's constants (tk_mve_requant with `general` 0, as TK_MVE_RQ2). The fourth channel loads
 * under the predicate pr: the window's bytes only, in the block of the last plane (which ends the
 * scratch), all 16 elsewhere. */
#define TK_DW_BLOCK_ASM(STEP, ADVANCE)                                                         \
    "vmrs %[a0], p0\n\t"                                                                     \
    "str %[a0], %[saved]\n\t"                                                                \
    "ldr %[a0], %[pr]\n\t"                                                                   \
    "vmsr p0, %[a0]\n\t"                                                                     \
    "1:\n\t"                                                                                 \
    TK_DW_LOAD("0", STEP, "") "vmladav.s8 %[a0], %q[x], %q[w0]\n\t"                           \
    TK_DW_LOAD("1", STEP, "") "vmladav.s8 %[a1], %q[x], %q[w1]\n\t"                           \
    TK_DW_LOAD("2", STEP, "") "vmladav.s8 %[a2], %q[x], %q[w2]\n\t"                           \
    "vpst\n\t" TK_DW_LOAD("3", STEP, "t") "vmladav.s8 %[a3], %q[x], %q[w3]\n\t"             \
    ADVANCE                                                                                    \
    TK_MVE_PACK("x", "a0", "a1", "a2", "a3")                                                   \
    "vldrw.32 %q[t], [%[rq]]\n\t"                                                             \
    "vadd.i32 %q[x], %q[x], %q[t]\n\t"                                                        \
    "vldrw.32 %q[t], [%[rq], #16]\n\t"                                                        \
    "vqrdmulh.s32 %q[x], %q[x], %q[t]\n\t"                                                    \
    "vshr.s32 %q[t], %q[x], #31\n\t"                                                          \
    "vadd.i32 %q[x], %q[x], %q[t]\n\t"                                                        \
    "vldrw.32 %q[t], [%[rq], #32]\n\t"                                                        \
    "vrshl.s32 %q[x], %q[x], %q[t]\n\t"                                                       \
    "vadd.i32 %q[x], %q[x], %[off]\n\t"                                                       \
    "vmax.s32 %q[x], %q[x], %q[lo]\n\t"                                                       \
    "vmin.s32 %q[x], %q[x], %q[hi]\n\t"                                                       \
    "vstrb.32 %q[x], [%[out]]\n\t"                                                            \
    "add %[out], %[out], %[out_c]\n\t"                                                        \
    "ldr %[a0], %[end]\n\t"                                                                   \
    "cmp %[out], %[a0]\n\t"                                                                   \
    "bne 1b\n\t"

#define TK_DW_BLOCK_OPERANDS(...)                                                              \
    : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [x] "=&w"(x), [t] "=&w"(t),      \
      [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3), [out] "+l"(out), [saved] "=m"(saved)   \
    : [w0] "w"(w0), [w1] "w"(w1), [w2] "w"(w2), [w3] "w"(w3), [rq] "r"(rq), [off] "r"(o.offset),            \
      [lo] "w"(o.lo), [hi] "w"(o.hi), [out_c] "r"(out_c), [end] "m"(end), [pr] "m"(pred) __VA_ARGS__     \
    : "cc", "memory"

/* The fast requantization's block loop (pixels >= 1); `step` 3 and 6 (3x3 windows, strides 1
 * and 2) post-increment the loads. */
static TK_NOINLINE void mve_dw_block_fast(const int8_t *plane0, int32_t plane, int32_t step, int32_t pixels, const int8_t *s,
                              int8_t *out, int32_t out_c, tk_mve_out o, mve_pred16_t pr)
{
    const int8x16_t w0 = vldrbq_s8(s), w1 = vldrbq_s8(s + 16), w2 = vldrbq_s8(s + 32), w3 = vldrbq_s8(s + 48);
    const int8_t *p0 = plane0, *p1 = plane0 + plane, *p2 = p1 + plane, *p3 = p2 + plane;
    const int8_t *const rq = s + TK_MVE_BLOCK * TK_MVE_CHUNK;
    int8_t *const end = out + (size_t)pixels * (size_t)out_c;
    const uint32_t pred = pr; /* loaded into P0 by the loop, the caller's P0 kept in saved */
    uint32_t saved;
    int32_t a0, a1, a2, a3;
    int32x4_t x, t;
    if (step == 3) {
        __asm__ volatile(TK_DW_BLOCK_ASM(", #3", "") TK_DW_BLOCK_OPERANDS());
    } else if (step == 6) {
        __asm__ volatile(TK_DW_BLOCK_ASM(", #6", "") TK_DW_BLOCK_OPERANDS());
    } else {
        __asm__ volatile(TK_DW_BLOCK_ASM("", "add %[p0], %[p0], %[step]\n\tadd %[p1], %[p1], %[step]\n\t"
                                             "add %[p2], %[p2], %[step]\n\tadd %[p3], %[p3], %[step]\n\t")
                         TK_DW_BLOCK_OPERANDS(, [step] "r"(step)));
    }
}

/* Four pixels of one channel of the common layer: window loads at 0, 1, 2, 3 steps (O0..O3
 * immediates, then the plane pointer moves by ADV = 4 steps), the four sums as the lanes of one
 * vector, requantized with the channel's scalar bias, multiplier and shift (tk_mve_requant with
 * `general` 0), and stored to the four pixels' bytes of the channel by one scatter store. */
#define TK_DW_CHANNEL_ASM(O1, O2, O3, ADV)                                                      \
    "1:\n\t"                                                                                  \
    "vldrb.8 %q[x], [%[p], #" O1 "]\n\t"                                                      \
    "vmladav.s8 %[a1], %q[x], %q[w]\n\t"                                                      \
    "vldrb.8 %q[x], [%[p], #" O2 "]\n\t"                                                      \
    "vmladav.s8 %[a2], %q[x], %q[w]\n\t"                                                      \
    "vldrb.8 %q[x], [%[p], #" O3 "]\n\t"                                                      \
    "vmladav.s8 %[a3], %q[x], %q[w]\n\t"                                                      \
    "vldrb.8 %q[x], [%[p]], #" ADV "\n\t"                                                     \
    "vmladav.s8 %[a0], %q[x], %q[w]\n\t"                                                      \
    TK_MVE_PACK("x", "a0", "a1", "a2", "a3")                                                    \
    "vadd.i32 %q[x], %q[x], %[bias]\n\t"                                                      \
    "vqrdmulh.s32 %q[x], %q[x], %[mult]\n\t"                                                  \
    "vshr.s32 %q[t], %q[x], #31\n\t"                                                          \
    "vadd.i32 %q[x], %q[x], %q[t]\n\t"                                                        \
    "vrshl.s32 %q[x], %[shift]\n\t"                                                           \
    "vadd.i32 %q[x], %q[x], %[off]\n\t"                                                       \
    "vmax.s32 %q[x], %q[x], %q[lo]\n\t"                                                       \
    "vmin.s32 %q[x], %q[x], %q[hi]\n\t"                                                       \
    "vstrb.32 %q[x], [%[out], %q[lanes]]\n\t"                                                 \
    "add %[out], %[out], %[out_step]\n\t"                                                     \
    "subs %[n], %[n], #1\n\t"                                                                 \
    "bne 1b\n\t"

#define TK_DW_CHANNEL_OPERANDS                                                                 \
    : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [x] "=&w"(x), [t] "=&w"(t),      \
      [p] "+r"(p), [out] "+l"(out), [n] "+r"(groups)                                                       \
    : [w] "w"(w), [bias] "r"(bias), [mult] "r"(mult), [shift] "r"(shift), [off] "r"(o.offset),             \
      [lo] "w"(o.lo), [hi] "w"(o.hi), [lanes] "w"(lanes), [out_step] "r"(out_step)                         \
    : "cc", "memory"

/* Channel `c` (within its block's stream at s) of the common layer with a 3x3 window of stride 1
 * or 2 (step 3 or 6), for `groups` >= 1 groups of four pixels starting at the plane's window 0. */
static TK_NOINLINE void mve_dw_channel_fast(const int8_t *plane, int32_t step, int32_t groups, const int8_t *s, int32_t j,
                                int8_t *out, int32_t out_c, tk_mve_out o)
{
    const int8x16_t w = vldrbq_s8(s + j * TK_MVE_CHUNK);
    const int32_t *rq = (const int32_t *)(const void *)(s + TK_MVE_BLOCK * TK_MVE_CHUNK);
    const int32_t bias = rq[j], mult = rq[TK_MVE_BLOCK + j], shift = rq[2 * TK_MVE_BLOCK + j];
    const uint32x4_t lanes = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c);
    const int32_t out_step = TK_MVE_BLOCK * out_c;
    const int8_t *p = plane;
    int32_t a0, a1, a2, a3;
    int32x4_t x, t;
    if (step == 3) {
        __asm__ volatile(TK_DW_CHANNEL_ASM("3", "6", "9", "12") TK_DW_CHANNEL_OPERANDS);
    } else {
        __asm__ volatile(TK_DW_CHANNEL_ASM("6", "12", "18", "24") TK_DW_CHANNEL_OPERANDS);
    }
}

/* The same block in C with either requantization (the general one needs more registers). */
static void mve_dw_block_general(const int8_t *plane0, int32_t plane, int32_t step, int32_t pixels,
                                 const int8_t *s, int8_t *out, int32_t out_c, tk_mve_out o, mve_pred16_t pr)
{
    const int8x16_t w0 = vldrbq_s8(s), w1 = vldrbq_s8(s + 16), w2 = vldrbq_s8(s + 32), w3 = vldrbq_s8(s + 48);
    const int8_t *p0 = plane0;
    const int8_t *const rq = s + TK_MVE_BLOCK * TK_MVE_CHUNK;
    for (int32_t x = 0; x < pixels; ++x, out += out_c, p0 += step) {
        const int8_t *r = rq;
        int32x4_t acc = vdupq_n_s32(vmladavq_s8(vldrbq_s8(p0), w0));
        acc = vsetq_lane_s32(vmladavq_s8(vldrbq_s8(p0 + plane), w1), acc, 1);
        acc = vsetq_lane_s32(vmladavq_s8(vldrbq_s8(p0 + 2 * plane), w2), acc, 2);
        acc = vsetq_lane_s32(vmladavq_s8(vldrbq_z_s8(p0 + 3 * plane, pr), w3), acc, 3);
        tk_mve_store(out, acc, tk_mve_rq_load(&r), o, 1);
    }
}

/* Any block of any layer over the row's pixels (mve_dw_sums per pixel). */
static void mve_dw_block_any(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g, const int8_t *planes,
                             int32_t oc, const int8_t *s, int8_t *out, tk_mve_out o, int general)
{
    const int32_t n = p->output.c - oc < TK_MVE_BLOCK ? p->output.c - oc : TK_MVE_BLOCK;
    for (int32_t ox = 0; ox < p->output.w; ++ox, out += p->output.c) {
        const int8_t *r = s;
        const int32x4_t sums = mve_dw_sums(p, g, planes, oc, ox * g->step, &r, n);
        tk_mve_store_n(out, sums, tk_mve_rq_load(&r), o, general, n);
    }
}

/* Output row `out` from the planes. Common 3x3 layers of stride 1 or 2 with the fast
 * requantization and rows of 8 pixels or more take four pixels at a time channel by channel
 * (mve_dw_channel_fast), but for the block of the last plane; the other pixels and layers go block
 * by block; layers that are not common, and a last block of fewer than four channels, through
 * mve_dw_block_any. */
TK_INLINE void mve_dw_row(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g, const int8_t *planes,
                          int8_t *out, tk_mve_out o, int general)
{
    const int32_t out_c = p->output.c, pixels = p->output.w;
    const int32_t block_bytes = TK_MVE_BLOCK * g->runs * g->chunks * TK_MVE_CHUNK + 3 * 16;
    const int32_t common = p->depth_multiplier == 1 && g->runs == 1 && g->chunks == 1;
    const int32_t groups = !general && common && (g->step == 3 || g->step == 6) && pixels >= 8 ? pixels / TK_MVE_BLOCK : 0;
    const int8_t *s = p->filter_data;
    for (int32_t oc = 0; oc < out_c; oc += TK_MVE_BLOCK, s += block_bytes) {
        const int8_t *plane0 = planes + (size_t)oc * (size_t)g->plane;
        const int32_t last = oc + TK_MVE_BLOCK > g->last;
        const int32_t done = last ? 0 : TK_MVE_BLOCK * groups; /* pixels done channel by channel */
        const mve_pred16_t pr = vctp8q(last ? (uint32_t)g->run : 16u);
        if (!common || oc + TK_MVE_BLOCK > out_c) {
            mve_dw_block_any(p, g, planes, oc, s, out + oc, o, general);
            continue;
        }
        for (int32_t j = 0; done > 0 && j < TK_MVE_BLOCK; ++j) {
            mve_dw_channel_fast(plane0 + j * g->plane, g->step, groups, s, j, out + oc + j, out_c, o);
        }
        if (done == pixels) {
            continue;
        }
        if (general) {
            mve_dw_block_general(plane0 + done * g->step, g->plane, g->step, pixels - done, s,
                                 out + (size_t)done * (size_t)out_c + oc, out_c, o, pr);
        } else {
            mve_dw_block_fast(plane0 + done * g->step, g->plane, g->step, pixels - done, s,
                              out + (size_t)done * (size_t)out_c + oc, out_c, o, pr);
        }
    }
}

static void mve_dw_row_fast(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g, const int8_t *planes,
                            int8_t *out, tk_mve_out o)
{
    mve_dw_row(p, g, planes, out, o, 0);
}

static void mve_dw_row_general(const tk_depthwise_conv2d_params *p, const mve_dw_geometry *g,
                               const int8_t *planes, int8_t *out, tk_mve_out o)
{
    mve_dw_row(p, g, planes, out, o, 1);
}

tk_status tk_depthwise_conv2d_s8_mve(const tk_depthwise_conv2d_params *params, const int8_t *input, int8_t *output,
                                     void *scratch)
{
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_depthwise_conv2d_params local = *params;
    const tk_depthwise_conv2d_params *p = &local;
    const mve_dw_geometry g = mve_dw_geometry_of(p);
    const tk_mve_out o = tk_mve_out_make(p->output_offset, p->act);
    const size_t row_out = (size_t)p->output.w * (size_t)p->output.c;
    if (scratch == NULL || p->filter_data == NULL || p->depth_multiplier < 1 ||
        p->output.c != p->input.c * p->depth_multiplier ||
        (size_t)g.plane * (size_t)p->input.c > tk_depthwise_conv2d_s8_buffer_size(p)) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            int8_t *out = output + ((size_t)b * (size_t)p->output.h + (size_t)oy) * row_out;
            if (7 * g.plane > UINT16_MAX) {
                mve_dw_planes_wide(p, &g, in, oy, (int8_t *)scratch);
            } else {
                mve_dw_planes(p, &g, in, oy, (int8_t *)scratch);
            }
            if (TK_FAST_REQUANT(p)) {
                mve_dw_row_fast(p, &g, (const int8_t *)scratch, out, o);
            } else {
                mve_dw_row_general(p, &g, (const int8_t *)scratch, out, o);
            }
        }
    }
    return TK_OK;
}

#else
typedef int tk_depthwise_conv2d_mve_unused; /* ISO C: a translation unit declares something */
#endif /* TK_USE_MVE */
