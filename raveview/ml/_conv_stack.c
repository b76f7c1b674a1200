/*
 * The convolution stack of the Guiglion et al. (2020) network for many ensemble
 * members at once, on the CPU.
 *
 * Each member's convolutions are narrow (1 -> 8 -> 4 -> 2 channels, kernel 10),
 * too narrow for the GEMM-based kernels of TensorFlow and oneDNN to keep a CPU
 * busy. Here the spectra go through the network 16 at a time, one spectrum per
 * vector lane ("lanes" layout: a layer's activations are rows (pixel, channel)
 * of 16 floats). Every load is then a whole, aligned vector that is reused by
 * all output channels, and a register block of several output pixels and
 * channels is updated with broadcast weights: a direct convolution with no
 * shifted loads and no horizontal work. The first dense layer, when given, is
 * computed the same way from the last convolution's rows.
 *
 * For training, the forward pass can keep every layer's output, and
 * raveview_conv_stack_backward returns the gradients of every member's kernels
 * and biases; the input gradient of a layer is the same direct convolution, of
 * the zero-padded output gradient with the flipped kernel. The training step's
 * other two loops over millions of values are here too: the members' dropout
 * masks (raveview_dropout_masks, TensorFlow's Philox stream) and their Adam
 * update (raveview_adam).
 *
 * The kernels come in sets for 16-float vectors and 32 registers (AVX-512),
 * 8-float vectors and 16 registers (AVX2) and 4-float vectors (SSE2, NEON);
 * the best set the CPU runs is picked when the library loads.
 *
 * This file has no Python API: raveview.ml.conv_kernel calls the functions
 * through ctypes (which releases the GIL, so several threads can run them at
 * once on different members). PyInit__conv_stack only makes the shared library
 * a valid extension module for the build tools.
 *
 * Layouts (all float32, C order; K the kernel size):
 *   x        (n_spectra, n_pixels) the normalised spectra, or (n_members, n_spectra, n_pixels)
 *   kernels  per layer (n_members, K, c_in, c_out), Keras' own layout
 *   biases   per layer (n_members, c_out)
 *   out      (n_members, n_spectra, t_last * c_last) in Keras' Flatten order (pixel-major), or with
 *            a dense layer (n_members, n_spectra, units) after its LeakyReLU
 *   acts     (n_members, n_blocks, act_len): every layer's output in the lanes layout, for the
 *            backward pass; n_blocks = ceil(n_spectra / 16)
 *   scratch  raveview_scratch_floats() floats for this call (one call per thread)
 */
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_CHANNELS 256 /* most channels of a layer */
#define MAX_LAYERS 16    /* most convolution layers */
#define VL 16            /* spectra per block: the lanes of one row */

/* Vectors of W floats (W = 16, 8 or 4: AVX-512, AVX2, SSE/NEON). A kernel of width W < VL does a
   block's lanes in VL / W passes: each register then is native, never split by the compiler. */
typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int i16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef int i8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v4 __attribute__((vector_size(16), aligned(4), may_alias));
typedef int i4 __attribute__((vector_size(16), aligned(4), may_alias));

/* Macros rather than functions, so that they are always compiled for the ISA of the caller. The
   vector types are only 4-byte aligned (and may alias floats), so these are unaligned moves. */
#define LOADU(v, p) ((v) = *(const __typeof__(v) *)(const void *)(p))
#define STOREU(p, v) (*(__typeof__(v) *)(void *)(p) = (v))
#define SPLAT(VT, s) ((s) - (VT){0}) /* x - 0 folds to x: a plain broadcast (x + 0 would not fold) */
#define LEAKY(VT, IT, a, s) ((VT)(((IT)((a) > 0) & (IT)(a)) | (~(IT)((a) > 0) & (IT)((a) * SPLAT(VT, s)))))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define X86_DISPATCH 1
#define ATTR_V4 __attribute__((target("arch=x86-64-v4")))
#define ATTR_V3 __attribute__((target("arch=x86-64-v3")))
/* plain loops compiled for each level, picked at load time (GNU ifunc) */
#define ATTR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define X86_DISPATCH 0
#define ATTR_V4
#define ATTR_V3
#define ATTR_CLONES
#endif
#define ATTR_BASE

/*
 * conv_<SET>_g<G>: output channels [0, G) of one layer for one block of spectra.
 *   h (t_in, c_in, VL); w (K, c_in, w_stride) with this group's channels at columns [0, G);
 *   b (G); out rows of out_stride floats, this group's channels at out[o * VL].
 * Output pixels go P at a time; the last block is shifted back to end at t_out (it recomputes a
 * few pixels rather than running a tail loop). Rows shorter than P go one pixel at a time.
 */
#define CONV_GROUP(SET, ATTR, VT, IT, W, G, P)                                                     \
    ATTR static void conv_##SET##_g##G(const float *h, int c_in, const float *w, int w_stride,     \
                                       const float *b, int k, float *out, int out_stride,          \
                                       int t_out, float slope)                                     \
    {                                                                                              \
        const int step = t_out >= P ? P : 1;                                                       \
        for (int lane = 0; lane < VL; lane += W)                                                   \
            for (int l = 0;; l += step) {                                                          \
                if (l + step > t_out) l = t_out - step;                                            \
                VT acc[P][G];                                                                      \
                for (int p = 0; p < P; p++)                                                        \
                    for (int o = 0; o < G; o++) acc[p][o] = SPLAT(VT, b[o]);                       \
                if (step == P) {                                                                   \
                    for (int t = 0; t < k; t++)                                                    \
                        for (int c = 0; c < c_in; c++) {                                           \
                            const float *wr = w + ((size_t)t * c_in + c) * w_stride;               \
                            VT wv[G];                                                              \
                            for (int o = 0; o < G; o++) wv[o] = SPLAT(VT, wr[o]);                  \
                            for (int p = 0; p < P; p++) {                                          \
                                VT xv;                                                             \
                                LOADU(xv, h + ((size_t)(l + p + t) * c_in + c) * VL + lane);       \
                                for (int o = 0; o < G; o++) acc[p][o] += wv[o] * xv;               \
                            }                                                                      \
                        }                                                                          \
                } else {                                                                           \
                    for (int t = 0; t < k; t++)                                                    \
                        for (int c = 0; c < c_in; c++) {                                           \
                            const float *wr = w + ((size_t)t * c_in + c) * w_stride;               \
                            VT xv;                                                                 \
                            LOADU(xv, h + ((size_t)(l + t) * c_in + c) * VL + lane);               \
                            for (int o = 0; o < G; o++) acc[0][o] += SPLAT(VT, wr[o]) * xv;        \
                        }                                                                          \
                }                                                                                  \
                for (int p = 0; p < step; p++)                                                     \
                    for (int o = 0; o < G; o++) {                                                  \
                        VT y = LEAKY(VT, IT, acc[p][o], slope);                              \
                        STOREU(out + (size_t)(l + p) * out_stride + o * VL + lane, y);             \
                    }                                                                              \
                if (l + step >= t_out) break;                                                      \
            }                                                                                      \
    }

/*
 * wgrad_<SET>_g<G>_t<TAPS>: weight gradients of output channels [0, G), input channel c and
 * taps [t0, t0 + TAPS) of one layer, added to dw (K, c_in, dw_stride) at columns [0, G):
 *   dw[t, c, o] += sum over pixels l and lanes of g[l, o] * h[l + t, c]
 * g rows of g_stride floats hold t_out pixels, this group's channels at g[o * VL]; h (t_in, c_in, VL).
 */
#define WGRAD_GROUP(SET, ATTR, VT, W, G, TAPS)                                                     \
    ATTR static void wgrad_##SET##_g##G##_t##TAPS(const float *g, int g_stride, int t_out,         \
                                                  const float *h, int c_in, int c, int t0,         \
                                                  float *dw, int dw_stride)                        \
    {                                                                                              \
        VT acc[TAPS][G];                                                                           \
        for (int j = 0; j < TAPS; j++)                                                             \
            for (int o = 0; o < G; o++) acc[j][o] = SPLAT(VT, 0.0f);                               \
        for (int lane = 0; lane < VL; lane += W)                                                   \
            for (int l = 0; l < t_out; l++) {                                                      \
                VT gv[G];                                                                          \
                for (int o = 0; o < G; o++) LOADU(gv[o], g + (size_t)l * g_stride + o * VL + lane); \
                for (int j = 0; j < TAPS; j++) {                                                   \
                    VT hv;                                                                         \
                    LOADU(hv, h + ((size_t)(l + t0 + j) * c_in + c) * VL + lane);                  \
                    for (int o = 0; o < G; o++) acc[j][o] += gv[o] * hv;                           \
                }                                                                                  \
            }                                                                                      \
        for (int j = 0; j < TAPS; j++)                                                             \
            for (int o = 0; o < G; o++) {                                                          \
                float sum = 0;                                                                     \
                for (int q = 0; q < W; q++) sum += acc[j][o][q];                                   \
                dw[((size_t)(t0 + j) * c_in + c) * dw_stride + o] += sum;                          \
            }                                                                                      \
    }

/* Inputs a dense layer sums in one run before adding the partial sum to the total: the rounding
   error of a sum over the 1770 inputs of the published network then stays that of BLAS. */
#define DENSE_CHUNK 64

/*
 * dense_<SET>_g<G>: units [0, G) of a dense layer for one block: out[lane, o] = LeakyReLU(b[o] +
 * sum_f w[f, o] h[f, lane]) for the first `valid` lanes; h (n_in, VL), w (n_in, w_stride), out rows
 * of w_stride floats.
 */
#define DENSE_GROUP(SET, ATTR, VT, IT, W, G)                                                       \
    ATTR static void dense_##SET##_g##G(const float *h, long n_in, const float *w, int w_stride,   \
                                        const float *b, float *out, int valid, float slope)        \
    {                                                                                              \
        for (int lane = 0; lane < valid; lane += W) {                                              \
            VT acc[G], part[G];                                                                    \
            for (int o = 0; o < G; o++) acc[o] = SPLAT(VT, b[o]);                                  \
            for (long f0 = 0; f0 < n_in; f0 += DENSE_CHUNK) {                                      \
                const long f1 = n_in - f0 < DENSE_CHUNK ? n_in : f0 + DENSE_CHUNK;                 \
                for (int o = 0; o < G; o++) part[o] = SPLAT(VT, 0.0f);                             \
                for (long f = f0; f < f1; f++) {                                                   \
                    VT xv;                                                                         \
                    LOADU(xv, h + (size_t)f * VL + lane);                                          \
                    const float *wr = w + (size_t)f * w_stride;                                    \
                    for (int o = 0; o < G; o++) part[o] += SPLAT(VT, wr[o]) * xv;                  \
                }                                                                                  \
                for (int o = 0; o < G; o++) acc[o] += part[o];                                     \
            }                                                                                      \
            const int n = valid - lane < W ? valid - lane : W;                                     \
            for (int o = 0; o < G; o++) {                                                          \
                VT y = LEAKY(VT, IT, acc[o], slope);                                         \
                for (int q = 0; q < n; q++) out[(size_t)(lane + q) * w_stride + o] = y[q];         \
            }                                                                                      \
        }                                                                                          \
    }

/*
 * bgrad_<SET>: bias gradients of one layer for one block, added to db (c_out):
 *   db[o] += sum over pixels l and lanes of g[l, o]; g rows (t_out, c_out, VL).
 * Four vector accumulators per channel, so that the additions do not wait on each other.
 */
#define BIAS_GRAD(SET, ATTR, VT, W)                                                                \
    ATTR static void bgrad_##SET(const float *g, int c_out, int t_out, float *db)                  \
    {                                                                                              \
        const size_t row = (size_t)c_out * VL;                                                     \
        for (int o = 0; o < c_out; o++) {                                                          \
            VT a0 = SPLAT(VT, 0.0f), a1 = a0, a2 = a0, a3 = a0;                                    \
            for (int lane = 0; lane < VL; lane += W) {                                             \
                const float *p = g + (size_t)o * VL + lane;                                        \
                int l = 0;                                                                         \
                for (; l + 4 <= t_out; l += 4) {                                                   \
                    VT x0, x1, x2, x3;                                                             \
                    LOADU(x0, p + l * row);                                                        \
                    LOADU(x1, p + (l + 1) * row);                                                  \
                    LOADU(x2, p + (l + 2) * row);                                                  \
                    LOADU(x3, p + (l + 3) * row);                                                  \
                    a0 += x0;                                                                      \
                    a1 += x1;                                                                      \
                    a2 += x2;                                                                      \
                    a3 += x3;                                                                      \
                }                                                                                  \
                for (; l < t_out; l++) {                                                           \
                    VT x;                                                                          \
                    LOADU(x, p + l * row);                                                         \
                    a0 += x;                                                                       \
                }                                                                                  \
            }                                                                                      \
            const VT sum = (a0 + a1) + (a2 + a3);                                                  \
            float total = 0;                                                                       \
            for (int q = 0; q < W; q++) total += sum[q];                                           \
            db[o] += total;                                                                        \
        }                                                                                          \
    }

typedef void conv_fn(const float *, int, const float *, int, const float *, int, float *, int, int, float);
typedef void wgrad_fn(const float *, int, int, const float *, int, int, int, float *, int);
typedef void dense_fn(const float *, long, const float *, int, const float *, float *, int, float);
typedef void bgrad_fn(const float *, int, int, float *);

/* A set of register blocks: output channels of a convolution in groups of conv_g[i] channels
   (largest first, the last 1); weight gradients in channel groups of 4 and 1 times tap groups of
   taps4 or taps1, and of 1; dense units in groups of dense_g[i]. */
struct kernel_set {
    const char *name;
    int conv_g[4];
    conv_fn *conv[4];
    wgrad_fn *wgrad4, *wgrad4_1, *wgrad1, *wgrad1_1;
    int taps4, taps1; /* taps of wgrad4 and wgrad1 */
    int dense_g[3];
    dense_fn *dense[3];
    bgrad_fn *bgrad;
};

/*
 * A kernel set: the register blocks for vectors of W floats. Convolutions in groups of 8, 4, 2 and
 * 1 output channels over P8, P4, P2 and P1 output pixels; weight gradients of 4 channels over T4
 * taps (and of 1 channel over 5 taps), with single-tap remainders; dense units in groups of D, 4
 * and 1 (T4 and D must not be 1, resp. 4 or 1: each block is defined once).
 */
#define KERNEL_SET(SET, ATTR, VT, IT, W, P8, P4, P2, P1, T4, D)                                     \
    CONV_GROUP(SET, ATTR, VT, IT, W, 8, P8)                                                        \
    CONV_GROUP(SET, ATTR, VT, IT, W, 4, P4)                                                        \
    CONV_GROUP(SET, ATTR, VT, IT, W, 2, P2)                                                        \
    CONV_GROUP(SET, ATTR, VT, IT, W, 1, P1)                                                        \
    WGRAD_GROUP(SET, ATTR, VT, W, 4, T4)                                                           \
    WGRAD_GROUP(SET, ATTR, VT, W, 4, 1)                                                            \
    WGRAD_GROUP(SET, ATTR, VT, W, 1, 5)                                                            \
    WGRAD_GROUP(SET, ATTR, VT, W, 1, 1)                                                            \
    DENSE_GROUP(SET, ATTR, VT, IT, W, D)                                                           \
    DENSE_GROUP(SET, ATTR, VT, IT, W, 4)                                                           \
    DENSE_GROUP(SET, ATTR, VT, IT, W, 1)                                                           \
    BIAS_GRAD(SET, ATTR, VT, W)                                                                    \
    static const struct kernel_set SET##_set = {                                                   \
        #SET, {8, 4, 2, 1}, {conv_##SET##_g8, conv_##SET##_g4, conv_##SET##_g2, conv_##SET##_g1},  \
        wgrad_##SET##_g4_t##T4, wgrad_##SET##_g4_t1, wgrad_##SET##_g1_t5, wgrad_##SET##_g1_t1, T4, 5, \
        {D, 4, 1}, {dense_##SET##_g##D, dense_##SET##_g4, dense_##SET##_g1}, bgrad_##SET,          \
    };

#if X86_DISPATCH
/* 32 registers (AVX-512): about 24 accumulators a block */
KERNEL_SET(avx512, ATTR_V4, v16, i16, 16, 3, 6, 12, 12, 5, 16)
/* 16 registers (AVX2, SSE, NEON): about 8 accumulators a block */
KERNEL_SET(avx2, ATTR_V3, v8, i8, 8, 1, 2, 4, 8, 2, 8)
#endif
KERNEL_SET(base, ATTR_BASE, v4, i4, 4, 1, 2, 4, 8, 2, 8) /* SSE2 on x86-64, NEON on 64-bit ARM */

/* The sets this CPU can run, best first. */
static const struct kernel_set *usable[3];
static int n_usable;
static const struct kernel_set *kernels_in_use;

__attribute__((constructor)) static void find_kernels(void)
{
    n_usable = 0;
#if X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        usable[n_usable++] = &avx512_set;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) usable[n_usable++] = &avx2_set;
#endif
    usable[n_usable++] = &base_set;
    kernels_in_use = usable[0];
}

/* The names of the kernel sets this CPU can run, best first, comma-separated. */
const char *raveview_kernel_sets(void)
{
    static char names[64];
    names[0] = 0;
    for (int i = 0; i < n_usable; i++) {
        if (i) strcat(names, ",");
        strcat(names, usable[i]->name);
    }
    return names;
}

/* Use the kernel set called `name` (one of raveview_kernel_sets()); returns 0, or -1 when this CPU
   cannot run it. The best set is used from the start; tests switch to check that all agree. */
int raveview_use_kernel_set(const char *name)
{
    for (int i = 0; i < n_usable; i++)
        if (!strcmp(usable[i]->name, name)) {
            kernels_in_use = usable[i];
            return 0;
        }
    return -1;
}

/* One convolution layer of one block: h (t_in, c_in, VL), w (K, c_in, c_out) -> out (t_out, c_out, VL). */
static void conv_layer(const float *h, int c_in, const float *w, const float *b, int c_out, int k,
                       float *out, int t_out, float slope)
{
    const struct kernel_set *ks = kernels_in_use;
    int o = 0;
    for (int s = 0; s < 4; s++)
        for (; o + ks->conv_g[s] <= c_out; o += ks->conv_g[s])
            ks->conv[s](h, c_in, w + o, c_out, b + o, k, out + (size_t)o * VL, c_out * VL, t_out, slope);
}

/* Weight and bias gradients of one layer for one block: g (t_out, c_out, VL), h (t_in, c_in, VL),
   added to dw (K, c_in, c_out) and db (c_out). */
static void weight_grad(const float *g, int c_out, int t_out, const float *h, int c_in, int k,
                        float *dw, float *db)
{
    const struct kernel_set *ks = kernels_in_use;
    ks->bgrad(g, c_out, t_out, db);
    for (int c = 0; c < c_in; c++) {
        int o = 0;
        for (; o + 4 <= c_out; o += 4) {
            int t0 = 0;
            for (; t0 + ks->taps4 <= k; t0 += ks->taps4)
                ks->wgrad4(g + (size_t)o * VL, c_out * VL, t_out, h, c_in, c, t0, dw + o, c_out);
            for (; t0 < k; t0++)
                ks->wgrad4_1(g + (size_t)o * VL, c_out * VL, t_out, h, c_in, c, t0, dw + o, c_out);
        }
        for (; o < c_out; o++) {
            int t0 = 0;
            for (; t0 + ks->taps1 <= k; t0 += ks->taps1)
                ks->wgrad1(g + (size_t)o * VL, c_out * VL, t_out, h, c_in, c, t0, dw + o, c_out);
            for (; t0 < k; t0++)
                ks->wgrad1_1(g + (size_t)o * VL, c_out * VL, t_out, h, c_in, c, t0, dw + o, c_out);
        }
    }
}

/* The first dense layer of one block: h (n_in, VL), w (n_in, units) -> out rows (valid, units). */
static void dense_layer(const float *h, long n_in, const float *w, const float *b, int units, float *out,
                        int valid, float slope)
{
    const struct kernel_set *ks = kernels_in_use;
    int o = 0;
    for (int s = 0; s < 3; s++)
        for (; o + ks->dense_g[s] <= units; o += ks->dense_g[s]) ks->dense[s](h, n_in, w + o, units, b + o, out + o, valid, slope);
}

/* g[i] *= LeakyReLU'(y[i]) (the slope where the layer's output y is not positive), n floats. */
ATTR_CLONES static void times_leaky_derivative(float *restrict g, const float *restrict y, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++) g[i] = y[i] > 0 ? g[i] : g[i] * slope;
}

/* Spectra [n0, n0 + valid) of one member -> the block xb (n_pixels, VL), zero in the other lanes. */
static void gather_block(const float *x, int n_pixels, int valid, float *xb)
{
    if (valid < VL) memset(xb, 0, sizeof(float) * (size_t)n_pixels * VL);
    for (int q = 0; q < valid; q++) {
        const float *row = x + (size_t)q * n_pixels;
        for (int t = 0; t < n_pixels; t++) xb[(size_t)t * VL + q] = row[t];
    }
}

/* Pixels of the output of layer i (0-based) after i + 1 'valid' convolutions of k taps. */
static int layer_length(int n_pixels, int i, int k) { return n_pixels - (i + 1) * (k - 1); }

static float *aligned64(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

static long block_floats(int n_pixels, int n_layers, const int *c_out, int k, int padded)
{
    long most = 0;
    for (int i = 0; i < n_layers; i++) {
        const long rows = layer_length(n_pixels, i, k) + (padded ? 2L * (k - 1) : 0);
        if (rows * c_out[i] > most) most = rows * c_out[i];
    }
    return most * VL;
}

/* Floats of scratch one thread needs for raveview_conv_stack and raveview_conv_stack_backward. */
long raveview_scratch_floats(int n_pixels, int n_layers, const int *c_out, int k)
{
    return (long)n_pixels * VL + 2 * block_floats(n_pixels, n_layers, c_out, k, 1) + 3 * 16;
}

/* Floats per member and block of `acts`: every layer's output in the lanes layout. */
long raveview_act_floats(int n_pixels, int n_layers, const int *c_out, int k)
{
    long n = 0;
    for (int i = 0; i < n_layers; i++) n += (long)layer_length(n_pixels, i, k) * c_out[i] * VL;
    return n;
}

static int shapes_fit(int n_pixels, int n_layers, const int *c_out, int k, long scratch_len)
{
    if (n_layers < 1 || n_layers > MAX_LAYERS || k < 1 || layer_length(n_pixels, n_layers - 1, k) <= 0) return 0;
    for (int i = 0; i < n_layers; i++)
        if (c_out[i] < 1 || c_out[i] > MAX_CHANNELS) return 0;
    return scratch_len >= raveview_scratch_floats(n_pixels, n_layers, c_out, k);
}

/*
 * Forward: every convolution layer (each followed by LeakyReLU) for members [member_start,
 * member_stop) and every spectrum; then, when dense_w is given, the first dense layer (with
 * LeakyReLU).
 *   x        (n_spectra, n_pixels) shared by all members (x_member_stride 0), or (n_members,
 *            n_spectra, n_pixels) one batch per member (x_member_stride n_spectra * n_pixels)
 *   dense_w  NULL, or (n_members, t_last * c_last, dense_units) in Keras' order; dense_b
 *            (n_members, dense_units)
 *   out      (n_members, n_spectra, t_last * c_last), or (n_members, n_spectra, dense_units)
 *   acts     NULL, or (n_members, n_blocks, act_len) with act_len = raveview_act_floats(): every
 *            layer's output, kept for raveview_conv_stack_backward
 * Returns 0, or -1 when the shapes leave no output pixel or do not fit the buffers.
 */
int raveview_conv_stack(const float *x, long x_member_stride, long n_spectra, int n_pixels, int n_members,
                        int member_start, int member_stop, int n_layers, const int *c_out, int k,
                        const float *const *kernels, const float *const *biases,
                        const float *dense_w, const float *dense_b, int dense_units, float *out,
                        float *acts, long act_len, float *scratch, long scratch_len, float slope)
{
    (void)n_members;
    if (!shapes_fit(n_pixels, n_layers, c_out, k, scratch_len)) return -1;
    if (acts && act_len != raveview_act_floats(n_pixels, n_layers, c_out, k)) return -1;
    const int t_last = layer_length(n_pixels, n_layers - 1, k);
    const long n_flat = (long)t_last * c_out[n_layers - 1];
    const long n_blocks = (n_spectra + VL - 1) / VL;
    const long per_block = block_floats(n_pixels, n_layers, c_out, k, 1);
    float *xb = aligned64(scratch);
    float *buf[2] = {aligned64(xb + (size_t)n_pixels * VL), NULL};
    buf[1] = aligned64(buf[0] + per_block);
    for (long nb = 0; nb < n_blocks; nb++) {
        const long n0 = nb * VL;
        const int valid = n_spectra - n0 < VL ? (int)(n_spectra - n0) : VL;
        for (int m = member_start; m < member_stop; m++) {
            if (x_member_stride || m == member_start)
                gather_block(x + (size_t)m * x_member_stride + (size_t)n0 * n_pixels, n_pixels, valid, xb);
            float *act = acts ? acts + ((size_t)m * n_blocks + nb) * act_len : NULL;
            const float *h = xb;
            int c_in = 1, t_in = n_pixels;
            for (int i = 0; i < n_layers; i++) {
                const int t_out = t_in - (k - 1);
                float *dest = act ? act : buf[i % 2];
                if (act) act += (size_t)t_out * c_out[i] * VL;
                conv_layer(h, c_in, kernels[i] + (size_t)m * k * c_in * c_out[i], biases[i] + (size_t)m * c_out[i],
                           c_out[i], k, dest, t_out, slope);
                h = dest;
                c_in = c_out[i];
                t_in = t_out;
            }
            if (dense_w) {
                dense_layer(h, n_flat, dense_w + (size_t)m * n_flat * dense_units, dense_b + (size_t)m * dense_units,
                            dense_units, out + ((size_t)m * n_spectra + n0) * dense_units, valid, slope);
            } else { /* rows (pixel, channel) of lanes -> one row per spectrum, Keras' Flatten order */
                float *o = out + ((size_t)m * n_spectra + n0) * n_flat;
                for (int q = 0; q < valid; q++)
                    for (long f = 0; f < n_flat; f++) o[(size_t)q * n_flat + f] = h[(size_t)f * VL + q];
            }
        }
    }
    return 0;
}

/*
 * Backward: gradients of the loss with respect to every layer's kernel and bias, for members
 * [member_start, member_stop), summed over the spectra. x and acts are those of the forward call
 * (with acts); grad_out (n_members, n_spectra, t_last * c_last) is the gradient of its output (without
 * a dense layer). kernels_f are the kernels flipped and transposed, (n_members, K, c_out, c_in) with
 * kernels_f[m, K-1-t, o, c] = kernels[m, t, c, o]: the gradient with respect to a layer's input is the
 * forward convolution of its zero-padded output gradient with them. grad_kernels and grad_biases have
 * the shapes of the kernels and biases; this call overwrites the rows of its members.
 * Returns 0, or -1 when the shapes do not fit.
 */
int raveview_conv_stack_backward(const float *x, long x_member_stride, long n_spectra, int n_pixels,
                                 int n_members, int member_start, int member_stop, int n_layers,
                                 const int *c_out, int k, const float *const *kernels_f,
                                 const float *acts, long act_len, const float *grad_out,
                                 float *const *grad_kernels, float *const *grad_biases,
                                 float *scratch, long scratch_len, float slope)
{
    (void)n_members;
    static const float no_bias[MAX_CHANNELS] = {0};
    if (!shapes_fit(n_pixels, n_layers, c_out, k, scratch_len)) return -1;
    if (act_len != raveview_act_floats(n_pixels, n_layers, c_out, k)) return -1;
    const int pad = k - 1;
    const int t_last = layer_length(n_pixels, n_layers - 1, k);
    const int c_last = c_out[n_layers - 1];
    const long n_flat = (long)t_last * c_last;
    const long n_blocks = (n_spectra + VL - 1) / VL;
    const long per_block = block_floats(n_pixels, n_layers, c_out, k, 1);
    float *xb = aligned64(scratch);
    float *gbuf[2] = {aligned64(xb + (size_t)n_pixels * VL), NULL};
    gbuf[1] = aligned64(gbuf[0] + per_block);
    for (int m = member_start; m < member_stop; m++)
        for (int i = 0; i < n_layers; i++) {
            const int c_in = i ? c_out[i - 1] : 1;
            memset(grad_kernels[i] + (size_t)m * k * c_in * c_out[i], 0, sizeof(float) * k * c_in * c_out[i]);
            memset(grad_biases[i] + (size_t)m * c_out[i], 0, sizeof(float) * c_out[i]);
        }
    for (long nb = 0; nb < n_blocks; nb++) {
        const long n0 = nb * VL;
        const int valid = n_spectra - n0 < VL ? (int)(n_spectra - n0) : VL;
        for (int m = member_start; m < member_stop; m++) {
            if (x_member_stride || m == member_start)
                gather_block(x + (size_t)m * x_member_stride + (size_t)n0 * n_pixels, n_pixels, valid, xb);
            const float *layer_out[MAX_LAYERS];
            const float *a = acts + ((size_t)m * n_blocks + nb) * act_len;
            for (int i = 0; i < n_layers; i++) {
                layer_out[i] = a;
                a += (size_t)layer_length(n_pixels, i, k) * c_out[i] * VL;
            }
            /* g: this layer's output gradient, rows (t_out + 2 pad, c_out, VL), t_out of them from row pad */
            float *g = gbuf[0];
            int t_out = t_last;
            memset(g, 0, sizeof(float) * (size_t)(t_last + 2 * pad) * c_last * VL);
            {
                float *gi = g + (size_t)pad * c_last * VL;
                const float *src = grad_out + ((size_t)m * n_spectra + n0) * n_flat;
                for (int q = 0; q < valid; q++)
                    for (long f = 0; f < n_flat; f++) gi[(size_t)f * VL + q] = src[(size_t)q * n_flat + f];
                times_leaky_derivative(gi, layer_out[n_layers - 1], (size_t)n_flat * VL, slope);
            }
            for (int i = n_layers - 1; i >= 0; i--) {
                const int c_in = i ? c_out[i - 1] : 1;
                const int t_in = t_out + pad;
                const float *h = i ? layer_out[i - 1] : xb;
                weight_grad(g + (size_t)pad * c_out[i] * VL, c_out[i], t_out, h, c_in, k,
                            grad_kernels[i] + (size_t)m * k * c_in * c_out[i], grad_biases[i] + (size_t)m * c_out[i]);
                if (!i) break;
                /* input gradient: full convolution of g with the flipped kernel, into the other buffer */
                float *next = g == gbuf[0] ? gbuf[1] : gbuf[0];
                const size_t row = (size_t)c_in * VL;
                memset(next, 0, sizeof(float) * pad * row);
                memset(next + (size_t)(pad + t_in) * row, 0, sizeof(float) * pad * row);
                conv_layer(g, c_out[i], kernels_f[i] + (size_t)m * k * c_out[i] * c_in, no_bias, c_in, k,
                           next + pad * row, t_in, 1.0f);
                times_leaky_derivative(next + pad * row, h, (size_t)t_in * row, slope);
                g = next;
                t_out = t_in;
            }
        }
    }
    return 0;
}

/*
 * Dropout keep masks of TensorFlow's tf.random.stateless_uniform, for every member at once.
 *
 * Member m's mask is out[m, i] = scale where u_i >= rate, else 0, with u the n floats that
 * tf.random.stateless_uniform((n,), seed=(seeds[m], counter)) draws on a CPU: Philox4x32-10
 * keyed and started from the seed as TensorFlow's StatelessRandomGetKeyCounter scrambles it,
 * four floats per counter value, each u = (1.mantissa of 23 random bits) - 1. The masks are the
 * same bits as the TensorFlow engine's, so both engines train to the same weights.
 */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_LANES 16

/* Ten Philox rounds of PHILOX_LANES counters c[word][lane] under key (k0, k1), in place. */
ATTR_CLONES static void philox_rounds(uint32_t c[4][PHILOX_LANES], uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        for (int j = 0; j < PHILOX_LANES; j++) {
            const uint64_t p0 = (uint64_t)PHILOX_M0 * c[0][j], p1 = (uint64_t)PHILOX_M1 * c[2][j];
            const uint32_t r0 = (uint32_t)(p1 >> 32) ^ c[1][j] ^ k0, r2 = (uint32_t)(p0 >> 32) ^ c[3][j] ^ k1;
            c[0][j] = r0;
            c[1][j] = (uint32_t)p1;
            c[2][j] = r2;
            c[3][j] = (uint32_t)p0;
        }
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
}

/* The key and start counter TensorFlow derives from a stateless seed (seed0, seed1). */
static void philox_key_counter(int64_t seed0, int64_t seed1, uint32_t key[2], uint32_t counter[4])
{
    uint32_t c[4][PHILOX_LANES] = {{(uint32_t)seed0}, {(uint32_t)((uint64_t)seed0 >> 32)}, {(uint32_t)seed1},
                                   {(uint32_t)((uint64_t)seed1 >> 32)}};
    philox_rounds(c, 0x3ec8f720u, 0x02461e29u);
    key[0] = c[0][0];
    key[1] = c[1][0];
    counter[0] = counter[1] = 0;
    counter[2] = c[2][0];
    counter[3] = c[3][0];
}

/* The 4 * PHILOX_LANES masks drawn from counters b0 .. b0 + PHILOX_LANES - 1 after the start counter
   (its low 64 bits are 0: no carry), in TensorFlow's order (4 floats per counter value). */
ATTR_CLONES static void philox_masks(const uint32_t key[2], const uint32_t start[4], uint64_t b0, float rate,
                                     float scale, float out[4 * PHILOX_LANES])
{
    uint32_t c[4][PHILOX_LANES];
    for (int j = 0; j < PHILOX_LANES; j++) {
        c[0][j] = (uint32_t)(b0 + (uint64_t)j);
        c[1][j] = (uint32_t)((b0 + (uint64_t)j) >> 32);
        c[2][j] = start[2];
        c[3][j] = start[3];
    }
    philox_rounds(c, key[0], key[1]);
    float u[4][PHILOX_LANES];
    for (int w = 0; w < 4; w++)
        for (int j = 0; j < PHILOX_LANES; j++) {
            const uint32_t bits = 0x3f800000u | (c[w][j] & 0x7fffffu);
            float f;
            memcpy(&f, &bits, sizeof f);
            u[w][j] = f - 1.0f >= rate ? scale : 0.0f;
        }
    for (int j = 0; j < PHILOX_LANES; j++)
        for (int w = 0; w < 4; w++) out[4 * j + w] = u[w][j];
}

/* Masks of members [member_start, member_stop): seeds (n_members,), out (n_members, n). Returns 0. */
int raveview_dropout_masks(const int64_t *seeds, int member_start, int member_stop, int64_t counter_seed, long n,
                           float rate, float scale, float *out)
{
    const long per_chunk = 4 * PHILOX_LANES;
    for (int m = member_start; m < member_stop; m++) {
        uint32_t key[2], start[4];
        philox_key_counter(seeds[m], counter_seed, key, start);
        float *o = out + (size_t)m * n;
        long i = 0;
        for (; i + per_chunk <= n; i += per_chunk) philox_masks(key, start, (uint64_t)(i / 4), rate, scale, o + i);
        if (i < n) {
            float tail[4 * PHILOX_LANES];
            philox_masks(key, start, (uint64_t)(i / 4), rate, scale, tail);
            memcpy(o + i, tail, sizeof(float) * (size_t)(n - i));
        }
    }
    return 0;
}

/*
 * One Adam step (Keras' update: m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2),
 * p -= alpha m / (sqrt(v) + epsilon)) of members [member_start, member_stop) for n_arrays stacked
 * parameter arrays p[a] (n_members, per_member[a]) with moments m[a], v[a] and gradients g[a].
 * alpha[member] is the member's step size lr sqrt(1 - beta_2^t) / (1 - beta_1^t); a member with
 * alpha 0 has stopped and is left as it is (moments too). Returns 0.
 */
ATTR_CLONES static void adam_rows(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                                  long n, float alpha, float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (long i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = m[i] + (gi - m[i]) * c1, vi = v[i] + (gi * gi - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        p[i] -= mi * alpha / (__builtin_sqrtf(vi) + eps);
    }
}

int raveview_adam(int n_arrays, float *const *p, float *const *m, float *const *v, const float *const *g,
                  const long *per_member, int member_start, int member_stop, const float *alpha,
                  float beta_1, float beta_2, float epsilon)
{
    for (int a = 0; a < n_arrays; a++)
        for (int k = member_start; k < member_stop; k++) {
            if (alpha[k] == 0.0f) continue;
            const size_t off = (size_t)k * per_member[a];
            adam_rows(p[a] + off, m[a] + off, v[a] + off, g[a] + off, per_member[a], alpha[k], beta_1, beta_2,
                      epsilon);
        }
    return 0;
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_conv_stack",
    "Shared library of the CPU convolution kernel (called through ctypes).", -1, NULL,
};

PyMODINIT_FUNC PyInit__conv_stack(void) { return PyModule_Create(&module); }
