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
 * This file has no Python API: raveview.ml.conv_kernel calls
 * raveview_conv_stack through ctypes (which releases the GIL, so several
 * threads can run it at once on different members). PyInit__conv_stack only
 * makes the shared library a valid extension module for the build tools.
 *
 * Layouts (all float32, C order):
 *   x        (n_spectra, n_pixels)              the normalised spectra
 *   kernels  per layer (n_members, c_out, kernel, c_in)
 *   biases   per layer (n_members, c_out)
 *   out      (n_members, n_spectra, c_last, t_last)  channel-major, not Keras' Flatten order
 *   scratch  2 * scratch_len floats for this call (one call per thread)
 */
#include <Python.h>
#include <stddef.h>
#include <string.h>

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

/* One layer: its output channels in groups of 8, 4, 2 and 1. */
static void conv_layer(const float *h, int c_in, int h_stride, const float *w, const float *b,
                       int c_out, int k, float *out, int t_out, float slope)
{
    int o = 0;
    const size_t per_out = (size_t)k * c_in;
    for (; o + 8 <= c_out; o += 8)
        conv_g8(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * t_out, t_out, t_out, slope);
    for (; o + 4 <= c_out; o += 4)
        conv_g4(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * t_out, t_out, t_out, slope);
    for (; o + 2 <= c_out; o += 2)
        conv_g2(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * t_out, t_out, t_out, slope);
    for (; o < c_out; o++)
        conv_g1(h, c_in, h_stride, w + o * per_out, b + o, k, out + (size_t)o * t_out, t_out, t_out, slope);
}

/*
 * All convolution layers (each followed by LeakyReLU) for members [member_start, member_stop)
 * and every spectrum. Returns 0, or -1 when the shapes leave no output pixel.
 */
int raveview_conv_stack(const float *x, long n_spectra, int n_pixels, int n_members,
                        int member_start, int member_stop, int n_layers, const int *c_out,
                        int k, const float *const *kernels, const float *const *biases,
                        float *out, float *scratch, long scratch_len, float slope)
{
    const int t_last = n_pixels - n_layers * (k - 1);
    if (t_last <= 0 || n_layers < 1) return -1;
    for (int i = 0; i < n_layers; i++)
        if ((long)c_out[i] * (n_pixels - (i + 1) * (k - 1)) > scratch_len) return -1;
    const long per_spectrum = (long)c_out[n_layers - 1] * t_last;
    for (int m = member_start; m < member_stop; m++) {
        for (long n = 0; n < n_spectra; n++) {
            const float *h = x + n * (size_t)n_pixels;
            int c_in = 1, h_stride = n_pixels, t_in = n_pixels;
            for (int i = 0; i < n_layers; i++) {
                const int t_out = t_in - (k - 1);
                float *dest = (i == n_layers - 1) ? out + ((size_t)m * n_spectra + n) * per_spectrum
                                                  : scratch + (size_t)(i % 2) * scratch_len;
                const float *w = kernels[i] + (size_t)m * c_out[i] * k * c_in;
                const float *b = biases[i] + (size_t)m * c_out[i];
                conv_layer(h, c_in, h_stride, w, b, c_out[i], k, dest, t_out, slope);
                h = dest;
                c_in = c_out[i];
                h_stride = t_out;
                t_in = t_out;
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
