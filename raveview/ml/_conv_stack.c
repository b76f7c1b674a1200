/*
 * The convolution stack of the Guiglion et al. (2020) network for many ensemble
 * members at once, on the CPU.
 *
 * Each member's convolutions are narrow (1 -> 8 -> 4 -> 2 channels, kernel 10),
 * too narrow for the GEMM-based kernels of TensorFlow and oneDNN to keep a CPU
 * busy. Here every layer is a direct convolution that keeps a block of output
 * pixels of several channels in vector registers: per kernel tap and input
 * channel it loads a few vectors of input pixels once and updates every output
 * channel of the block with broadcast weights. The layers of one spectrum and one
 * member run back to back in two small scratch rows that stay in the cache.
 *
 * For training, the forward pass can keep every layer's output, and
 * raveview_conv_stack_backward returns the gradients of every member's
 * kernels and biases; the input gradient of a layer is the same direct
 * convolution, of the zero-padded output gradient with the flipped kernel.
 *
 * This file has no Python API: raveview.ml.conv_kernel calls the two
 * functions through ctypes (which releases the GIL, so several threads can
 * run them at once on different members). PyInit__conv_stack only makes the
 * shared library a valid extension module for the build tools.
 *
 * Layouts (all float32, C order):
 *   x        (n_spectra, n_pixels) the normalised spectra, or (n_members, n_spectra, n_pixels)
 *   kernels  per layer (n_members, c_out, kernel, c_in)
 *   biases   per layer (n_members, c_out)
 *   out      (n_members, n_spectra, c_last, t_last)  channel-major, not Keras' Flatten order
 *   scratch  2 * scratch_len floats for this call (one call per thread)
 */
#include <Python.h>
#include <stddef.h>
#include <string.h>

#define MAX_CHANNELS 256 /* most channels of a layer the backward pass takes */
#define VL 16 /* floats per vector: one AVX-512 register, two AVX2 or four SSE/NEON registers */
typedef float vf __attribute__((vector_size(VL * sizeof(float)), aligned(4)));
typedef int vi __attribute__((vector_size(VL * sizeof(int)), aligned(4)));

/* Macros rather than functions, so that they are always compiled for the ISA of the caller's clone. */
#define LOADU(v, p) memcpy(&(v), (p), sizeof(vf))
#define STOREU(p, v) memcpy((p), &(v), sizeof(vf))
#define SPLAT(s) ((vf){0} + (s))
#define LEAKY(a, s) ((vf)(((vi)((a) > 0) & (vi)(a)) | (~(vi)((a) > 0) & (vi)((a) * SPLAT(s)))))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* one clone per x86-64 level; the loader picks the best the CPU has */
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

/*
 * conv_g<G>: output channels [0, G) of one layer, for one member and one spectrum.
 *   h (c_in, h_stride) input rows; w (G, k, c_in); b (G); out (G, out_stride), t_out pixels.
 * Pixels go in blocks of PBV vectors; the last block is shifted back to end at t_out (it
 * recomputes a few pixels rather than running a scalar tail), so t_out >= PBV * VL uses
 * vector code only.
 */
#define CONV_GROUP(G, PBV)                                                                         \
    CLONES static void conv_g##G(const float *h, int c_in, int h_stride, const float *w,           \
                                 const float *b, int k, float *out, int t_out, int out_stride,    \
                                 float slope)                                                     \
    {                                                                                              \
        const int block = PBV * VL;                                                                \
        if (t_out >= block) {                                                                      \
            for (int l = 0;; l += block) {                                                         \
                if (l + block > t_out) l = t_out - block;                                          \
                vf acc[G][PBV];                                                                    \
                for (int o = 0; o < G; o++)                                                        \
                    for (int p = 0; p < PBV; p++) acc[o][p] = SPLAT(b[o]);                         \
                for (int t = 0; t < k; t++)                                                        \
                    for (int c = 0; c < c_in; c++) {                                               \
                        const float *row = h + (size_t)c * h_stride + l + t;                       \
                        vf xv[PBV];                                                                \
                        for (int p = 0; p < PBV; p++) LOADU(xv[p], row + p * VL);                  \
                        for (int o = 0; o < G; o++) {                                              \
                            const vf wv = SPLAT(w[((size_t)o * k + t) * c_in + c]);                \
                            for (int p = 0; p < PBV; p++) acc[o][p] += wv * xv[p];                 \
                        }                                                                          \
                    }                                                                              \
                for (int o = 0; o < G; o++)                                                        \
                    for (int p = 0; p < PBV; p++) {                                                \
                        const vf y = LEAKY(acc[o][p], slope);                                      \
                        STOREU(out + (size_t)o * out_stride + l + p * VL, y);                      \
                    }                                                                              \
                if (l + block >= t_out) break;                                                     \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        for (int l = 0; l < t_out; l++) /* rows shorter than one block */                          \
            for (int o = 0; o < G; o++) {                                                          \
                float a = b[o];                                                                    \
                for (int t = 0; t < k; t++)                                                        \
                    for (int c = 0; c < c_in; c++)                                                 \
                        a += w[((size_t)o * k + t) * c_in + c] * h[(size_t)c * h_stride + l + t];  \
                out[(size_t)o * out_stride + l] = a > 0 ? a : slope * a;                           \
            }                                                                                      \
    }

/* 8 accumulators of a few vectors each: register blocking that suits 16 or 32 vector registers */
CONV_GROUP(8, 2)
CONV_GROUP(4, 4)
CONV_GROUP(2, 8)
CONV_GROUP(1, 8)

/* One layer: its output channels in groups of 8, 4, 2 and 1. Output rows are out_stride apart. */
static void conv_layer(const float *h, int c_in, int h_stride, const float *w, const float *b,
                       int c_out, int k, float *out, int t_out, int out_stride, float slope)
{
    int o = 0;
    const size_t per_out = (size_t)k * c_in;
    for (; o + 8 <= c_out; o += 8)
        conv_g8(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * out_stride, t_out, out_stride, slope);
    for (; o + 4 <= c_out; o += 4)
        conv_g4(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * out_stride, t_out, out_stride, slope);
    for (; o + 2 <= c_out; o += 2)
        conv_g2(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * out_stride, t_out, out_stride, slope);
    for (; o < c_out; o++)
        conv_g1(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * out_stride, t_out, out_stride, slope);
}

/* Pixels of the output of layer i (0-based) after i + 1 'valid' convolutions of k taps. */
static int layer_length(int n_pixels, int i, int k) { return n_pixels - (i + 1) * (k - 1); }

/*
 * Forward: all convolution layers (each followed by LeakyReLU) for members [member_start, member_stop)
 * and every spectrum.
 *   x        (n_spectra, n_pixels) shared by all members (x_member_stride 0), or (n_members, n_spectra,
 *            n_pixels) one batch per member (x_member_stride n_spectra * n_pixels)
 *   out      (n_members, n_spectra, c_last, t_last): the last layer's output; with time_major,
 *            (n_members, n_spectra, t_last, c_last), the order of Keras' Flatten
 *   acts     NULL, or (n_members, n_spectra, act_len): the outputs of the other layers, one after the
 *            other (channel-major), kept for raveview_conv_stack_backward
 *   scratch  2 * scratch_len floats
 * Returns 0, or -1 when the shapes leave no output pixel or do not fit the buffers.
 */
int raveview_conv_stack(const float *x, long x_member_stride, long n_spectra, int n_pixels, int n_members,
                        int member_start, int member_stop, int n_layers, const int *c_out,
                        int k, const float *const *kernels, const float *const *biases,
                        float *out, int time_major, float *acts, long act_len, float *scratch, long scratch_len,
                        float slope)
{
    const int t_last = layer_length(n_pixels, n_layers - 1, k);
    const int c_last = c_out[n_layers - 1];
    long need = 0;
    if (t_last <= 0 || n_layers < 1) return -1;
    for (int i = 0; i < n_layers; i++) {
        if ((long)c_out[i] * layer_length(n_pixels, i, k) > scratch_len) return -1;
        if (i < n_layers - 1) need += (long)c_out[i] * layer_length(n_pixels, i, k);
    }
    if (acts && need > act_len) return -1;
    const long per_spectrum = (long)c_out[n_layers - 1] * t_last;
    for (int m = member_start; m < member_stop; m++) {
        for (long n = 0; n < n_spectra; n++) {
            const float *h = x + (size_t)m * x_member_stride + n * (size_t)n_pixels;
            float *act = acts ? acts + ((size_t)m * n_spectra + n) * act_len : NULL;
            int c_in = 1, t_in = n_pixels;
            for (int i = 0; i < n_layers; i++) {
                const int t_out = t_in - (k - 1);
                float *dest;
                if (i == n_layers - 1 && !time_major) dest = out + ((size_t)m * n_spectra + n) * per_spectrum;
                else if (i < n_layers - 1 && act) { dest = act; act += (size_t)c_out[i] * t_out; }
                else dest = scratch + (size_t)((acts ? 0 : i) % 2) * scratch_len;
                const float *w = kernels[i] + (size_t)m * c_out[i] * k * c_in;
                const float *b = biases[i] + (size_t)m * c_out[i];
                conv_layer(h, c_in, t_in, w, b, c_out[i], k, dest, t_out, t_out, slope);
                h = dest;
                c_in = c_out[i];
                t_in = t_out;
            }
            if (time_major) { /* (c_last, t_last) in the scratch row -> (t_last, c_last) */
                float *o = out + ((size_t)m * n_spectra + n) * per_spectrum;
                for (int c = 0; c < c_last; c++)
                    for (int l = 0; l < t_last; l++) o[(size_t)l * c_last + c] = h[(size_t)c * t_last + l];
            }
        }
    }
    return 0;
}

/*
 * wgrad_g<G>: weight and bias gradients of output channels [0, G) of one layer, added to
 * dw (G, k, c_in) and db (G):
 *   dw[o, t, c] += sum_l g[o, l] * h[c, l + t],   db[o] += sum_l g[o, l]
 * g (G, g_stride) holds t_out pixels from g_offset; h (c_in, h_stride) is the layer's input.
 * Taps go in groups of TAPS, so G * TAPS sums stay in registers while the pixels stream by.
 */
#define TAPS 5
#define WGRAD_GROUP(G)                                                                            \
    CLONES static void wgrad_g##G(const float *g, int g_stride, int g_offset, int t_out,          \
                                  const float *h, int h_stride, int c_in, int k, float *dw,       \
                                  float *db)                                                      \
    {                                                                                             \
        const int blocks = t_out / VL;                                                            \
        for (int o = 0; o < G; o++) {                                                             \
            const float *gr = g + (size_t)o * g_stride + g_offset;                                \
            float bsum = 0;                                                                       \
            for (int l = 0; l < t_out; l++) bsum += gr[l];                                        \
            db[o] += bsum;                                                                        \
        }                                                                                         \
        for (int c = 0; c < c_in; c++) {                                                          \
            const float *hr = h + (size_t)c * h_stride;                                           \
            for (int t0 = 0; t0 < k; t0 += TAPS) {                                                \
                const int taps = k - t0 < TAPS ? k - t0 : TAPS;                                   \
                vf acc[G][TAPS];                                                                  \
                for (int o = 0; o < G; o++)                                                       \
                    for (int j = 0; j < TAPS; j++) acc[o][j] = SPLAT(0.0f);                       \
                if (taps == TAPS) {                                                               \
                    for (int bl = 0; bl < blocks; bl++) {                                         \
                        vf gv[G], hv[TAPS];                                                       \
                        for (int o = 0; o < G; o++) LOADU(gv[o], g + (size_t)o * g_stride + g_offset + bl * VL); \
                        for (int j = 0; j < TAPS; j++) LOADU(hv[j], hr + bl * VL + t0 + j);       \
                        for (int o = 0; o < G; o++)                                               \
                            for (int j = 0; j < TAPS; j++) acc[o][j] += gv[o] * hv[j];            \
                    }                                                                             \
                }                                                                                 \
                for (int o = 0; o < G; o++) {                                                     \
                    const float *gr = g + (size_t)o * g_stride + g_offset;                        \
                    for (int j = 0; j < taps; j++) {                                              \
                        float sum = 0;                                                            \
                        for (int q = 0; q < VL; q++) sum += acc[o][j][q];                         \
                        for (int l = taps == TAPS ? blocks * VL : 0; l < t_out; l++)              \
                            sum += gr[l] * hr[l + t0 + j];                                        \
                        dw[((size_t)o * k + t0 + j) * c_in + c] += sum;                           \
                    }                                                                             \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

WGRAD_GROUP(4)
WGRAD_GROUP(1)

/* Weight and bias gradients of one layer: output channels in groups of 4, then singly. */
static void weight_grad(const float *g, int g_stride, int g_offset, int c_out, int t_out,
                        const float *h, int h_stride, int c_in, int k, float *dw, float *db)
{
    int o = 0;
    const size_t per_out = (size_t)k * c_in;
    for (; o + 4 <= c_out; o += 4)
        wgrad_g4(g + (size_t)o * g_stride, g_stride, g_offset, t_out, h, h_stride, c_in, k, dw + o * per_out, db + o);
    for (; o < c_out; o++)
        wgrad_g1(g + (size_t)o * g_stride, g_stride, g_offset, t_out, h, h_stride, c_in, k, dw + o * per_out, db + o);
}

/* g[c, l] *= LeakyReLU'(y[c, l]) (the slope where the layer's output y is not positive); branch-free.
   y[c, l] is at y + c * y_stride + l * y_step. */
CLONES static void times_leaky_derivative(float *g, int g_stride, const float *y, int y_stride, int y_step,
                                          int c, int t, float slope)
{
    for (int i = 0; i < c; i++) {
        float *gr = g + (size_t)i * g_stride;
        const float *yr = y + (size_t)i * y_stride;
        if (y_step == 1)
            for (int l = 0; l < t; l++) gr[l] = yr[l] > 0 ? gr[l] : gr[l] * slope;
        else
            for (int l = 0; l < t; l++) gr[l] = yr[(size_t)l * y_step] > 0 ? gr[l] : gr[l] * slope;
    }
}

/*
 * Backward: gradients of the loss with respect to every layer's kernel and bias, for members
 * [member_start, member_stop), summed over the spectra. x, out, time_major and acts are those of the
 * forward call (with acts); grad_out has the shape of out. kernels_t are the kernels flipped and transposed,
 * (n_members, c_in, k, c_out) with kernels_t[m, c, k-1-t, o] = kernels[m, o, t, c]: the gradient with
 * respect to a layer's input is the forward convolution of its zero-padded output gradient with them.
 * grad_kernels and grad_biases have the shapes of kernels and biases; this call overwrites the rows of
 * its members. scratch holds 2 * scratch_len floats, scratch_len >= c_out[i] * (t_i + 2 (k - 1)).
 * Returns 0, or -1 when the shapes do not fit.
 */
int raveview_conv_stack_backward(const float *x, long x_member_stride, long n_spectra, int n_pixels,
                                 int n_members, int member_start, int member_stop, int n_layers,
                                 const int *c_out, int k, const float *const *kernels_t,
                                 const float *out, int time_major, const float *acts, long act_len,
                                 const float *grad_out,
                                 float *const *grad_kernels, float *const *grad_biases,
                                 float *scratch, long scratch_len, float slope)
{
    const int pad = k - 1;
    const int t_last = layer_length(n_pixels, n_layers - 1, k);
    if (t_last <= 0 || n_layers < 1) return -1;
    for (int i = 0; i < n_layers; i++)
        if ((long)c_out[i] * (layer_length(n_pixels, i, k) + 2 * pad) > scratch_len || c_out[i] > MAX_CHANNELS)
            return -1;
    const long per_spectrum = (long)c_out[n_layers - 1] * t_last;
    for (int m = member_start; m < member_stop; m++) {
        for (int i = 0; i < n_layers; i++) {
            const int c_in = i ? c_out[i - 1] : 1;
            memset(grad_kernels[i] + (size_t)m * c_out[i] * k * c_in, 0, sizeof(float) * c_out[i] * k * c_in);
            memset(grad_biases[i] + (size_t)m * c_out[i], 0, sizeof(float) * c_out[i]);
        }
        for (long n = 0; n < n_spectra; n++) {
            const float *xin = x + (size_t)m * x_member_stride + n * (size_t)n_pixels;
            const float *act0 = acts + ((size_t)m * n_spectra + n) * act_len;
            /* g: this layer's output gradient (before LeakyReLU'), rows of t_out + 2 pad, t_out values at pad */
            float *g = scratch;
            int t_out = t_last, g_stride = t_last + 2 * pad;
            const size_t at = ((size_t)m * n_spectra + n) * per_spectrum;
            const int c_last = c_out[n_layers - 1];
            /* element (o, l) of out and grad_out: o * o_stride + l * l_step */
            const int o_stride = time_major ? 1 : t_last, l_step = time_major ? c_last : 1;
            memset(g, 0, sizeof(float) * c_last * g_stride);
            for (int o = 0; o < c_last; o++) {
                float *gr = g + (size_t)o * g_stride + pad;
                const float *src = grad_out + at + (size_t)o * o_stride;
                for (int l = 0; l < t_last; l++) gr[l] = src[(size_t)l * l_step];
            }
            times_leaky_derivative(g + pad, g_stride, out + at, o_stride, l_step, c_last, t_last, slope);
            for (int i = n_layers - 1; i >= 0; i--) {
                const int c_in = i ? c_out[i - 1] : 1;
                const int t_in = t_out + pad;
                const float *h = xin;
                if (i) { /* the input of layer i is the output of layer i - 1 */
                    h = act0;
                    for (int j = 0; j < i - 1; j++) h += (size_t)c_out[j] * layer_length(n_pixels, j, k);
                }
                weight_grad(g, g_stride, pad, c_out[i], t_out, h, t_in, c_in, k,
                            grad_kernels[i] + (size_t)m * c_out[i] * k * c_in, grad_biases[i] + (size_t)m * c_out[i]);
                if (!i) break;
                /* input gradient: full convolution of g with the flipped kernel, into the other buffer */
                float *next = (g == scratch) ? scratch + scratch_len : scratch;
                const int next_stride = t_in + 2 * pad;
                const float *wt = kernels_t[i] + (size_t)m * c_in * k * c_out[i];
                static const float no_bias[MAX_CHANNELS] = {0};
                memset(next, 0, sizeof(float) * c_in * next_stride);
                conv_layer(g, c_out[i], g_stride, wt, no_bias, c_in, k, next + pad, t_in, next_stride, 1.0f);
                times_leaky_derivative(next + pad, next_stride, h, t_in, 1, c_in, t_in, slope);
                g = next;
                g_stride = next_stride;
                t_out = t_in;
            }
        }
    }
    return 0;
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_conv_stack",
    "Shared library of the CPU convolution kernel (called through ctypes).", -1, NULL,
};

PyMODINIT_FUNC PyInit__conv_stack(void) { return PyModule_Create(&module); }
