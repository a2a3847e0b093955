// Fused Dynamic-Aware Mask (paper Sec. 3.2; reference math: stdpose_infer/model/dam_reference.py).
//
// One block per sample. From the heatmaps H_l, H_t, H_r (B, J, P), P = h * w positions, it writes
// the mask M (B, P) in FP32:
//   moved[j, p] = fw * Sig_m(H_t - H_l) + bw * Sig_m(H_t - H_r),  Sig_m(x) = 1 / (1 + exp(-k(|x| - theta)))
//   logit[p]    = sum_j cw[j] * moved[j, p]                        (channel compression, 1x1 conv)
//   M[p]        = exp(logit[p] - max) / sum_p exp(logit[p] - max)   (spatial softmax, block-wide max and sum)
// Inputs are FP32 or FP16 (raw 16-bit storage, converted with cvt: no headers needed under NVRTC);
// all arithmetic and the output are FP32. Logits live in dynamic shared memory (P floats).

#define WARP 32

__device__ __forceinline__ float load_value(const float* p, long i) { return p[i]; }

__device__ __forceinline__ float load_value(const unsigned short* p, long i) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i]));
    return f;
}

__device__ __forceinline__ float modified_sigmoid(float x, float k, float theta) {
    return 1.0f / (1.0f + expf(-k * (fabsf(x) - theta)));
}

// Block-wide reduction (max when is_max, else sum); every thread gets the result.
__device__ float block_reduce(float v, bool is_max, float* scratch) {
    for (int offset = WARP / 2; offset > 0; offset /= 2) {
        float other = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = (blockDim.x + WARP - 1) / WARP;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? scratch[lane] : (is_max ? -3.402823466e38f : 0.0f);
        for (int offset = WARP / 2; offset > 0; offset /= 2) {
            float other = __shfl_xor_sync(0xffffffffu, v, offset);
            v = is_max ? fmaxf(v, other) : v + other;
        }
        if (lane == 0) scratch[0] = v;
    }
    __syncthreads();
    float result = scratch[0];
    __syncthreads();  // scratch is reused by the next reduction
    return result;
}

template <typename T>
__device__ void dam_mask(const T* h_left, const T* h_key, const T* h_right, const float* channel_weights,
                         const float* direction_weights, float k, float theta, int channels, int positions,
                         float* mask) {
    extern __shared__ float logits[];  // positions floats
    __shared__ float scratch[WARP];
    const float forward_weight = direction_weights[0], backward_weight = direction_weights[1];
    const long base = (long)blockIdx.x * channels * positions;
    float local_max = -3.402823466e38f;
    for (int p = threadIdx.x; p < positions; p += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < channels; ++j) {
            long i = base + (long)j * positions + p;
            float key = load_value(h_key, i);
            float moved = forward_weight * modified_sigmoid(key - load_value(h_left, i), k, theta) +
                          backward_weight * modified_sigmoid(key - load_value(h_right, i), k, theta);
            acc += channel_weights[j] * moved;
        }
        logits[p] = acc;
        local_max = fmaxf(local_max, acc);
    }
    const float max_logit = block_reduce(local_max, true, scratch);
    float local_sum = 0.0f;
    for (int p = threadIdx.x; p < positions; p += blockDim.x) {
        float e = expf(logits[p] - max_logit);
        logits[p] = e;
        local_sum += e;
    }
    const float inv_sum = 1.0f / block_reduce(local_sum, false, scratch);
    float* out = mask + (long)blockIdx.x * positions;
    for (int p = threadIdx.x; p < positions; p += blockDim.x) out[p] = logits[p] * inv_sum;
}

// Launch: grid (B), block (256) (a multiple of 32: the warp shuffles use the full mask),
// dynamic shared memory positions * 4 bytes. direction_weights = (forward, backward) on the device.
extern "C" __global__ void dam_mask_f32(const float* h_left, const float* h_key, const float* h_right,
                                        const float* channel_weights, const float* direction_weights, float k,
                                        float theta, int channels, int positions, float* mask) {
    dam_mask<float>(h_left, h_key, h_right, channel_weights, direction_weights, k, theta, channels, positions, mask);
}

extern "C" __global__ void dam_mask_f16(const unsigned short* h_left, const unsigned short* h_key,
                                        const unsigned short* h_right, const float* channel_weights,
                                        const float* direction_weights, float k, float theta, int channels,
                                        int positions, float* mask) {
    dam_mask<unsigned short>(h_left, h_key, h_right, channel_weights, direction_weights, k, theta, channels,
                             positions, mask);
}
