/* Weight gradient of a 5x5 depthwise convolution (one filter per channel, stride 1, dilation 1, zero
   padding 2) on NHWC float32 tensors:
       gw[kh][kw][c] += sum over b, h, w of dy[b][h][w][c] * x[b][h + kh - 2][w + kw - 2][c].
   Why: oneDNN (PyTorch's CPU convolutions) has a fast depthwise kernel for this only at 3x3; at 5x5 it
   falls back to its generic grouped convolution, 2-3x slower than this loop at the supernet's shapes
   (bench/depthwise.py).
   Channels run in blocks of 16, 8, 4 and 1 floats (vector registers), with one accumulator per kernel
   column, so each dy value is loaded once per row of taps. */
#include <string.h>

#define K 5
#define PAD 2

/* ROW_BLOCK(n): channels [c0, c0 + n) of one dy row against one x row. */
#define ROW_BLOCK(n)                                                                              \
    typedef float block##n __attribute__((vector_size(n * sizeof(float))));                      \
    static void row_block##n(const float *dy_row, const float *x_row, float *gw_row, long W,     \
                             long C, long c0) {                                                   \
        block##n acc[K] = {{0}};                                                                  \
        for (long w = 0; w < W; w++) {                                                            \
            block##n a, s;                                                                        \
            memcpy(&a, dy_row + w * C + c0, sizeof a);                                            \
            for (long kw = 0; kw < K; kw++) {                                                     \
                const long iw = w + kw - PAD;                                                     \
                if (iw < 0 || iw >= W) continue;                                                  \
                memcpy(&s, x_row + iw * C + c0, sizeof s);                                        \
                acc[kw] += a * s;                                                                 \
            }                                                                                     \
        }                                                                                         \
        for (long kw = 0; kw < K; kw++)                                                           \
            for (long j = 0; j < n; j++) gw_row[kw * C + c0 + j] += acc[kw][j];                   \
    }

ROW_BLOCK(16)
ROW_BLOCK(8)
ROW_BLOCK(4)
ROW_BLOCK(1)

/* Images [0, n) of x and dy ([n][H][W][C]); gw is [K][K][C] and is accumulated into. */
void depthwise5x5_weight_grad(const float *x, const float *dy, float *gw, long n, long H, long W, long C) {
    for (long b = 0; b < n; b++)
        for (long h = 0; h < H; h++)
            for (long kh = 0; kh < K; kh++) {
                const long ih = h + kh - PAD;
                if (ih < 0 || ih >= H) continue;
                const float *dy_row = dy + (b * H + h) * W * C;
                const float *x_row = x + (b * H + ih) * W * C;
                float *gw_row = gw + kh * K * C;
                long c0 = 0;
                for (; c0 + 16 <= C; c0 += 16) row_block16(dy_row, x_row, gw_row, W, C, c0);
                for (; c0 + 8 <= C; c0 += 8) row_block8(dy_row, x_row, gw_row, W, C, c0);
                for (; c0 + 4 <= C; c0 += 4) row_block4(dy_row, x_row, gw_row, W, C, c0);
                for (; c0 < C; c0++) row_block1(dy_row, x_row, gw_row, W, C, c0);
            }
}
