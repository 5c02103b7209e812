/*
 * mimtf's fused training kernels, a TensorFlow custom-op library loaded by TensorFlow.loadLibrary.
 *
 * Why: TF 2.16 fuses LayerNorm only in inference graphs, and its fused op returns no statistics,
 * so a closed-form backward must recompute them (README, Levers tried). These kernels keep the row
 * mean and 1/std from the forward pass for the backward one: two passes over x forward, two over
 * (dy, x) backward, instead of ~9 + ~20 element-wise kernels of the composite.
 *
 * Written against TensorFlow's stable C API for kernels and ops (tensorflow/c/kernels.h, ops.h,
 * tf_tensor.h, tf_status.h). TF Java's native jar ships the library (libtensorflow_framework.so.2
 * exports these symbols) but not the headers, so the few declarations used are written out below
 * from that documented API.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * glibc's vector erff/expf (libmvec, AVX2 and AVX-512 variants) are declared SIMD-callable only under
 * __FAST_MATH__, i.e. with -ffinite-math-only, which would let the compiler assume no NaN or Inf:
 * a NaN loss must still come out as NaN (the trainer stops on it). So the build keeps NaN semantics
 * (-fno-finite-math-only) and declares the two vector variants here itself.
 */
#if defined(__x86_64__) && !defined(__FAST_MATH__)
float erff(float) __attribute__((__simd__("notinbranch")));
float expf(float) __attribute__((__simd__("notinbranch")));
#endif

typedef struct TF_Status TF_Status;
typedef struct TF_Tensor TF_Tensor;
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef int TF_DataType; /* enum TF_DataType: TF_FLOAT = 1 */
typedef int TF_Code;     /* enum TF_Code: TF_OK = 0, TF_INVALID_ARGUMENT = 3 */
enum { MIMTF_TF_FLOAT = 1, MIMTF_TF_OK = 0, MIMTF_TF_INVALID_ARGUMENT = 3 };

extern TF_Status* TF_NewStatus(void);
extern void TF_DeleteStatus(TF_Status*);
extern TF_Code TF_GetCode(const TF_Status*);
extern void TF_SetStatus(TF_Status*, TF_Code, const char*);
extern void* TF_TensorData(const TF_Tensor*);
extern int TF_NumDims(const TF_Tensor*);
extern int64_t TF_Dim(const TF_Tensor*, int);
extern void TF_DeleteTensor(TF_Tensor*);
extern TF_KernelBuilder* TF_NewKernelBuilder(const char* op_name, const char* device_name,
    void* (*create_func)(TF_OpKernelConstruction*), void (*compute_func)(void*, TF_OpKernelContext*),
    void (*delete_func)(void*));
extern void TF_RegisterKernelBuilder(const char* kernel_name, TF_KernelBuilder* builder, TF_Status* status);
extern void TF_GetInput(TF_OpKernelContext* ctx, int i, TF_Tensor** tensor, TF_Status* status);
extern TF_Tensor* TF_AllocateOutput(TF_OpKernelContext* context, int index, TF_DataType dtype, const int64_t* dims,
    int num_dims, size_t len, TF_Status* status);
extern void TF_OpKernelContext_Failure(TF_OpKernelContext* ctx, TF_Status* status);
extern void TF_OpKernelConstruction_GetAttrFloat(TF_OpKernelConstruction* ctx, const char* attr_name, float* val,
    TF_Status* status);
extern void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction* ctx, TF_Status* status);
extern TF_OpDefinitionBuilder* TF_NewOpDefinitionBuilder(const char* op_name);
extern void TF_RegisterOpDefinition(TF_OpDefinitionBuilder* builder, TF_Status* status);
extern void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder* builder, const char* input_spec);
extern void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder* builder, const char* output_spec);
extern void TF_OpDefinitionBuilderAddAttr(TF_OpDefinitionBuilder* builder, const char* attr_spec);
extern void TF_OpDefinitionBuilderSetShapeInferenceFunction(TF_OpDefinitionBuilder* builder,
    void (*shape_inference_func)(TF_ShapeInferenceContext* ctx, TF_Status* status));
extern TF_ShapeHandle* TF_NewShapeHandle(void);
extern void TF_DeleteShapeHandle(TF_ShapeHandle* handle);
extern void TF_ShapeInferenceContextGetInput(TF_ShapeInferenceContext* ctx, int i, TF_ShapeHandle* handle,
    TF_Status* status);
extern void TF_ShapeInferenceContextSetOutput(TF_ShapeInferenceContext* ctx, int i, TF_ShapeHandle* handle,
    TF_Status* status);
extern void TF_ShapeInferenceContextSubshape(TF_ShapeInferenceContext* ctx, TF_ShapeHandle* shape_handle,
    int64_t start, int64_t end, TF_ShapeHandle* result, TF_Status* status);

/* ---- shape functions ---- */

/* Outputs 0..same-1 take input k's shape (k = 0, 1, ... in order of `from`); the rest the rows, x.shape[:1]. */
static void shape_same_then_rows(TF_ShapeInferenceContext* ctx, TF_Status* st, const int* from, int same,
    int rowsInput, int rowsOutputs) {
  TF_ShapeHandle* h = TF_NewShapeHandle();
  for (int o = 0; o < same && TF_GetCode(st) == MIMTF_TF_OK; o++) {
    TF_ShapeInferenceContextGetInput(ctx, from[o], h, st);
    if (TF_GetCode(st) == MIMTF_TF_OK) TF_ShapeInferenceContextSetOutput(ctx, o, h, st);
  }
  if (rowsOutputs > 0 && TF_GetCode(st) == MIMTF_TF_OK) {
    TF_ShapeHandle* rows = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(ctx, rowsInput, h, st);
    if (TF_GetCode(st) == MIMTF_TF_OK) TF_ShapeInferenceContextSubshape(ctx, h, 0, 1, rows, st);
    for (int o = same; o < same + rowsOutputs && TF_GetCode(st) == MIMTF_TF_OK; o++) {
      TF_ShapeInferenceContextSetOutput(ctx, o, rows, st);
    }
    TF_DeleteShapeHandle(rows);
  }
  TF_DeleteShapeHandle(h);
}

static void layer_norm_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {0};
  shape_same_then_rows(ctx, st, from, 1, 0, 2); /* y like x; mean, rstd [rows] */
}

static void layer_norm_grad_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {1, 2, 2};
  shape_same_then_rows(ctx, st, from, 3, 1, 0); /* dx like x; dgamma, dbeta like gamma */
}

static void residual_layer_norm_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {0, 0};
  shape_same_then_rows(ctx, st, from, 2, 0, 2); /* out, y like x; mean, rstd [rows] */
}

static void residual_layer_norm_grad_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {2, 2, 3, 4, 5, 5};
  shape_same_then_rows(ctx, st, from, 6, 2, 0); /* dx, dh like h; dbias, dscale, dgamma, dbeta like their inputs */
}

static void bias_gelu_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {0};
  shape_same_then_rows(ctx, st, from, 1, 0, 0); /* y like x */
}

static void bias_gelu_grad_shape(TF_ShapeInferenceContext* ctx, TF_Status* st) {
  static const int from[] = {1, 2};
  shape_same_then_rows(ctx, st, from, 2, 1, 0); /* dx like x, db like b */
}

/* ---- rows split over threads ---- */

/*
 * TF's C API gives a kernel no access to its intra-op thread pool, and on a 2-core machine a
 * single-threaded element-wise kernel on the critical path leaves a core idle; so each kernel splits
 * its rows over up to MIMTF_NATIVE_THREADS (default: the online CPUs, at most 16) threads of its own,
 * when there is enough work (at least 32k elements per thread). Each part owns whole rows, so the
 * results do not depend on the split except the column sums of the gradients, which each part
 * accumulates privately and the caller adds up in part order (deterministic for a given thread count).
 */
typedef void (*RowsFn)(void* args, int64_t begin, int64_t end, int part);

typedef struct {
  RowsFn fn;
  void* args;
  int64_t begin;
  int64_t end;
  int part;
} RowsTask;

static void* rows_task_run(void* p) {
  RowsTask* t = (RowsTask*) p;
  t->fn(t->args, t->begin, t->end, t->part);
  return NULL;
}

static int max_threads(void) {
  const char* env = getenv("MIMTF_NATIVE_THREADS");
  long n = env != NULL ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 16) n = 16;
  return (int) n;
}

/* How many parts {@code parallel_rows} will use for n rows of the given width. */
static int row_parts(int64_t n, int64_t width) {
  int64_t byWork = (n * width) / 32768;
  int parts = max_threads();
  if (byWork < parts) parts = (int) (byWork < 1 ? 1 : byWork);
  if (n < parts) parts = (int) (n < 1 ? 1 : n);
  return parts;
}

/* Runs fn over [0, n) in `parts` contiguous parts, part 0 on the calling thread. */
static void parallel_rows(RowsFn fn, void* args, int64_t n, int parts) {
  RowsTask tasks[16];
  pthread_t threads[16];
  int started[16] = {0};
  for (int p = 0; p < parts; p++) {
    tasks[p].fn = fn;
    tasks[p].args = args;
    tasks[p].begin = n * p / parts;
    tasks[p].end = n * (p + 1) / parts;
    tasks[p].part = p;
  }
  for (int p = 1; p < parts; p++) {
    started[p] = pthread_create(&threads[p], NULL, rows_task_run, &tasks[p]) == 0;
    if (!started[p]) rows_task_run(&tasks[p]); /* no thread: run it here */
  }
  rows_task_run(&tasks[0]);
  for (int p = 1; p < parts; p++) {
    if (started[p]) pthread_join(threads[p], NULL);
  }
}

/* ---- the arithmetic, compiled for AVX-512 and for AVX2 (chosen at load time by the CPU) ---- */

#define MIMTF_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))

/*
 * One row's LayerNorm: y = (x − μ)·r·γ + β, r = 1/√(σ² + ε) with the biased variance (as LayerNorm's);
 * inlined into each kernel's clones, so it is vectorised for each target.
 */
static inline __attribute__((always_inline)) void layer_norm_row(const float* restrict xr, const float* restrict g,
    const float* restrict b, float* restrict yr, int64_t d, float eps, float* mean, float* rstd) {
  float s = 0.f;
  for (int64_t j = 0; j < d; j++) s += xr[j];
  float mu = s / (float) d;
  float v = 0.f;
  for (int64_t j = 0; j < d; j++) {
    float c = xr[j] - mu;
    v += c * c;
  }
  float r = 1.f / sqrtf(v / (float) d + eps);
  for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mu) * r * g[j] + b[j];
  *mean = mu;
  *rstd = r;
}

/*
 * One row of LayerNorm's backward pass, first half: with x̂ = (x − μ)·r and g = dy·γ, the row means
 * mean(g) and mean(g·x̂), and dγ += dy·x̂, dβ += dy.
 */
static inline __attribute__((always_inline)) void layer_norm_grad_row_sums(const float* restrict dyr,
    const float* restrict xr, const float* restrict gamma, float mu, float r, float* restrict dg, float* restrict db,
    int64_t d, float* mg, float* mgx) {
  float sg = 0.f;
  float sgx = 0.f;
  for (int64_t j = 0; j < d; j++) {
    float xh = (xr[j] - mu) * r;
    float gj = dyr[j] * gamma[j];
    sg += gj;
    sgx += gj * xh;
    dg[j] += dyr[j] * xh;
    db[j] += dyr[j];
  }
  *mg = sg / (float) d;
  *mgx = sgx / (float) d;
}

MIMTF_CLONES static void layer_norm_rows(const float* restrict x, const float* restrict g, const float* restrict b,
    float* restrict y, float* restrict mean, float* restrict rstd, int64_t n, int64_t d, float eps) {
  for (int64_t i = 0; i < n; i++) layer_norm_row(x + i * d, g, b, y + i * d, d, eps, mean + i, rstd + i);
}

/*
 * With x̂ = (x − μ)·r and g = dy·γ: dx = r·(g − mean(g) − x̂·mean(g·x̂)) (means over the row),
 * dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
 */
MIMTF_CLONES static void layer_norm_grad_rows(const float* restrict dy, const float* restrict x,
    const float* restrict gamma, const float* restrict mean, const float* restrict rstd, float* restrict dx,
    float* restrict dg, float* restrict db, int64_t n, int64_t d) {
  memset(dg, 0, sizeof(float) * d);
  memset(db, 0, sizeof(float) * d);
  for (int64_t i = 0; i < n; i++) {
    const float* dyr = dy + i * d;
    const float* xr = x + i * d;
    float* dxr = dx + i * d;
    float mu = mean[i];
    float r = rstd[i];
    float mg;
    float mgx;
    layer_norm_grad_row_sums(dyr, xr, gamma, mu, r, dg, db, d, &mg, &mgx);
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mu) * r;
      dxr[j] = r * (dyr[j] * gamma[j] - mg - xh * mgx);
    }
  }
}

/*
 * The pre-norm block's residual step and the next LayerNorm in one pass:
 * out = x + s ⊙ (h + b) (layer scale s, the branch's last bias b), y = LN(out)·γ + β.
 */
MIMTF_CLONES static void residual_layer_norm_rows(const float* restrict x, const float* restrict h,
    const float* restrict bias, const float* restrict scale, const float* restrict g, const float* restrict b,
    float* restrict out, float* restrict y, float* restrict mean, float* restrict rstd, int64_t n, int64_t d,
    float eps) {
  for (int64_t i = 0; i < n; i++) {
    const float* xr = x + i * d;
    const float* hr = h + i * d;
    float* o = out + i * d;
    for (int64_t j = 0; j < d; j++) o[j] = xr[j] + scale[j] * (hr[j] + bias[j]);
    layer_norm_row(o, g, b, y + i * d, d, eps, mean + i, rstd + i);
  }
}

/*
 * Its gradient: the residual stream's gradient t = dout + LN'(dy) (LayerNorm's closed form, as
 * layer_norm_grad_rows) is dx; dh = s ⊙ t; the column sums db = Σ s ⊙ t, ds = Σ (h + b) ⊙ t,
 * dγ = Σ dy·x̂, dβ = Σ dy go to acc ([4][d]: db, ds, dγ, dβ).
 */
MIMTF_CLONES static void residual_layer_norm_grad_rows(const float* restrict dout, const float* restrict dy,
    const float* restrict h, const float* restrict bias, const float* restrict scale, const float* restrict gamma,
    const float* restrict out, const float* restrict mean, const float* restrict rstd, float* restrict dx,
    float* restrict dh, float* restrict acc, int64_t n, int64_t d) {
  float* restrict dbias = acc;
  float* restrict dscale = acc + d;
  float* restrict dg = acc + 2 * d;
  float* restrict db = acc + 3 * d;
  memset(acc, 0, sizeof(float) * 4 * d);
  for (int64_t i = 0; i < n; i++) {
    const float* dyr = dy + i * d;
    const float* or_ = out + i * d;
    float mu = mean[i];
    float r = rstd[i];
    float mg;
    float mgx;
    layer_norm_grad_row_sums(dyr, or_, gamma, mu, r, dg, db, d, &mg, &mgx);
    const float* dor = dout + i * d;
    const float* hr = h + i * d;
    float* dxr = dx + i * d;
    float* dhr = dh + i * d;
    for (int64_t j = 0; j < d; j++) {
      float xh = (or_[j] - mu) * r;
      float t = dor[j] + r * (dyr[j] * gamma[j] - mg - xh * mgx);
      float st = scale[j] * t;
      dxr[j] = t;
      dhr[j] = st;
      dbias[j] += st;
      dscale[j] += (hr[j] + bias[j]) * t;
    }
  }
}

/* GELU(z) = z·Φ(z), Φ(z) = ½(1 + erf(z/√2)) (exact, as PyTorch's nn.GELU), on z = x + b. */
MIMTF_CLONES static void bias_gelu_rows(const float* restrict x, const float* restrict b, float* restrict y,
    int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i++) {
    const float* xr = x + i * h;
    float* yr = y + i * h;
    for (int64_t j = 0; j < h; j++) {
      float z = xr[j] + b[j];
      yr[j] = z * (0.5f + 0.5f * erff(z * 0.70710678118654752f));
    }
  }
}

/* dz = dy·(Φ(z) + z·φ(z)), φ(z) = exp(−z²/2)/√(2π), z = x + b; dx = dz, db = Σ_rows dz. */
MIMTF_CLONES static void bias_gelu_grad_rows(const float* restrict dy, const float* restrict x,
    const float* restrict b, float* restrict dx, float* restrict db, int64_t n, int64_t h) {
  memset(db, 0, sizeof(float) * h);
  for (int64_t i = 0; i < n; i++) {
    const float* dyr = dy + i * h;
    const float* xr = x + i * h;
    float* dxr = dx + i * h;
    for (int64_t j = 0; j < h; j++) {
      float z = xr[j] + b[j];
      float cdf = 0.5f + 0.5f * erff(z * 0.70710678118654752f);
      float pdf = 0.39894228040143268f * expf(-0.5f * z * z);
      float dz = dyr[j] * (cdf + z * pdf);
      dxr[j] = dz;
      db[j] += dz;
    }
  }
}

/* ---- the same, split over rows (parallel_rows) ---- */

typedef struct { const float *x, *g, *b; float *y, *mean, *rstd; int64_t d; float eps; } LayerNormArgs;

static void layer_norm_part(void* a, int64_t r0, int64_t r1, int part) {
  (void) part;
  LayerNormArgs* p = (LayerNormArgs*) a;
  layer_norm_rows(p->x + r0 * p->d, p->g, p->b, p->y + r0 * p->d, p->mean + r0, p->rstd + r0, r1 - r0, p->d, p->eps);
}

/* partial: per part, dγ then dβ ([parts][2][d]). */
typedef struct { const float *dy, *x, *gamma, *mean, *rstd; float *dx, *partial; int64_t d; } LayerNormGradArgs;

static void layer_norm_grad_part(void* a, int64_t r0, int64_t r1, int part) {
  LayerNormGradArgs* p = (LayerNormGradArgs*) a;
  int64_t d = p->d;
  layer_norm_grad_rows(p->dy + r0 * d, p->x + r0 * d, p->gamma, p->mean + r0, p->rstd + r0, p->dx + r0 * d,
      p->partial + (int64_t) part * 2 * d, p->partial + (int64_t) part * 2 * d + d, r1 - r0, d);
}

typedef struct {
  const float *x, *h, *bias, *scale, *g, *b;
  float *out, *y, *mean, *rstd;
  int64_t d;
  float eps;
} ResidualLayerNormArgs;

static void residual_layer_norm_part(void* a, int64_t r0, int64_t r1, int part) {
  (void) part;
  ResidualLayerNormArgs* p = (ResidualLayerNormArgs*) a;
  int64_t d = p->d;
  residual_layer_norm_rows(p->x + r0 * d, p->h + r0 * d, p->bias, p->scale, p->g, p->b, p->out + r0 * d,
      p->y + r0 * d, p->mean + r0, p->rstd + r0, r1 - r0, d, p->eps);
}

/* partial: per part, db, ds, dγ, dβ ([parts][4][d]). */
typedef struct {
  const float *dout, *dy, *h, *bias, *scale, *gamma, *out, *mean, *rstd;
  float *dx, *dh, *partial;
  int64_t d;
} ResidualLayerNormGradArgs;

static void residual_layer_norm_grad_part(void* a, int64_t r0, int64_t r1, int part) {
  ResidualLayerNormGradArgs* p = (ResidualLayerNormGradArgs*) a;
  int64_t d = p->d;
  residual_layer_norm_grad_rows(p->dout + r0 * d, p->dy + r0 * d, p->h + r0 * d, p->bias, p->scale, p->gamma,
      p->out + r0 * d, p->mean + r0, p->rstd + r0, p->dx + r0 * d, p->dh + r0 * d, p->partial + (int64_t) part * 4 * d,
      r1 - r0, d);
}

typedef struct { const float *x, *b; float* y; int64_t h; } BiasGeluArgs;

static void bias_gelu_part(void* a, int64_t r0, int64_t r1, int part) {
  (void) part;
  BiasGeluArgs* p = (BiasGeluArgs*) a;
  bias_gelu_rows(p->x + r0 * p->h, p->b, p->y + r0 * p->h, r1 - r0, p->h);
}

/* partial: per part, db ([parts][h]). */
typedef struct { const float *dy, *x, *b; float *dx, *partial; int64_t h; } BiasGeluGradArgs;

static void bias_gelu_grad_part(void* a, int64_t r0, int64_t r1, int part) {
  BiasGeluGradArgs* p = (BiasGeluGradArgs*) a;
  int64_t h = p->h;
  bias_gelu_grad_rows(p->dy + r0 * h, p->x + r0 * h, p->b, p->dx + r0 * h, p->partial + (int64_t) part * h, r1 - r0, h);
}

/* out[j] = Σ_part partial[part·stride + j], in part order. */
static void sum_parts(const float* partial, int parts, int64_t stride, int64_t offset, int64_t width, float* out) {
  for (int64_t j = 0; j < width; j++) out[j] = partial[offset + j];
  for (int p = 1; p < parts; p++) {
    const float* q = partial + (int64_t) p * stride + offset;
    for (int64_t j = 0; j < width; j++) out[j] += q[j];
  }
}

/* ---- kernels ---- */

typedef struct { float epsilon; } LayerNormAttrs;

static void* layer_norm_create(TF_OpKernelConstruction* ctx) {
  LayerNormAttrs* a = (LayerNormAttrs*) calloc(1, sizeof(LayerNormAttrs));
  TF_Status* st = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrFloat(ctx, "epsilon", &a->epsilon, st);
  if (TF_GetCode(st) != MIMTF_TF_OK) TF_OpKernelConstruction_Failure(ctx, st);
  TF_DeleteStatus(st);
  return a;
}

static void layer_norm_delete(void* p) { free(p); }

/* Reads inputs 0..n-1; on failure reports it and returns 0. */
static int get_inputs(TF_OpKernelContext* ctx, TF_Tensor** t, int n, TF_Status* st) {
  for (int i = 0; i < n; i++) t[i] = NULL;
  for (int i = 0; i < n; i++) {
    TF_GetInput(ctx, i, &t[i], st);
    if (TF_GetCode(st) != MIMTF_TF_OK) {
      TF_OpKernelContext_Failure(ctx, st);
      return 0;
    }
  }
  return 1;
}

static void delete_all(TF_Tensor** t, int n) {
  for (int i = 0; i < n; i++) if (t[i] != NULL) TF_DeleteTensor(t[i]);
}

static int check_2d(TF_OpKernelContext* ctx, TF_Tensor* x, TF_Tensor* gamma, TF_Status* st, int64_t* rows,
    int64_t* width, const char* what) {
  if (TF_NumDims(x) != 2 || TF_NumDims(gamma) != 1 || TF_Dim(gamma, 0) != TF_Dim(x, 1)) {
    TF_SetStatus(st, MIMTF_TF_INVALID_ARGUMENT, what);
    TF_OpKernelContext_Failure(ctx, st);
    return 0;
  }
  *rows = TF_Dim(x, 0);
  *width = TF_Dim(x, 1);
  return 1;
}

/* Whether t is [rows, width]; else reports `what` and returns 0 (the kernels read by these sizes). */
static int check_shape(TF_OpKernelContext* ctx, TF_Tensor* t, int dims, int64_t rows, int64_t width, TF_Status* st,
    const char* what) {
  int ok = TF_NumDims(t) == dims && TF_Dim(t, 0) == rows && (dims == 1 || TF_Dim(t, 1) == width);
  if (!ok) {
    TF_SetStatus(st, MIMTF_TF_INVALID_ARGUMENT, what);
    TF_OpKernelContext_Failure(ctx, st);
  }
  return ok;
}

/*
 * Allocates the kernel's outputs in order, one letter each: 'M' a [rows, width] matrix, 'R' a
 * [rows] vector (row statistics), 'C' a [width] vector (column sums); on failure reports it and
 * returns 0.
 */
static int allocate_outputs(TF_OpKernelContext* ctx, TF_Tensor** out, const char* kinds, int64_t n, int64_t d,
    TF_Status* st) {
  for (int o = 0; kinds[o] != '\0'; o++) {
    int64_t dims[2] = {kinds[o] == 'C' ? d : n, d};
    int rank = kinds[o] == 'M' ? 2 : 1;
    size_t len = sizeof(float) * (size_t) (kinds[o] == 'M' ? n * d : dims[0]);
    out[o] = TF_AllocateOutput(ctx, o, MIMTF_TF_FLOAT, dims, rank, len, st);
    if (TF_GetCode(st) != MIMTF_TF_OK) {
      TF_OpKernelContext_Failure(ctx, st);
      return 0;
    }
  }
  return 1;
}

/* MimtfLayerNorm: y, and the row statistics μ and r for MimtfLayerNormGrad. */
static void layer_norm_compute(void* attrs, TF_OpKernelContext* ctx) {
  float eps = ((LayerNormAttrs*) attrs)->epsilon;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[3];
  TF_Tensor* out[3] = {NULL, NULL, NULL};
  int64_t n, d;
  if (get_inputs(ctx, in, 3, st) && check_2d(ctx, in[0], in[1], st, &n, &d,
      "MimtfLayerNorm: x must be [rows, width] and gamma, beta [width]")
      && check_shape(ctx, in[2], 1, d, 0, st, "MimtfLayerNorm: beta must be [width]")) {
    if (allocate_outputs(ctx, out, "MRR", n, d, st)) {
      const float* x = (const float*) TF_TensorData(in[0]);
      const float* g = (const float*) TF_TensorData(in[1]);
      const float* b = (const float*) TF_TensorData(in[2]);
      float* y = (float*) TF_TensorData(out[0]);
      float* mean = (float*) TF_TensorData(out[1]);
      float* rstd = (float*) TF_TensorData(out[2]);
      LayerNormArgs args = {x, g, b, y, mean, rstd, d, eps};
      parallel_rows(layer_norm_part, &args, n, row_parts(n, d));
    }
  }
  delete_all(out, 3);
  delete_all(in, 3);
  TF_DeleteStatus(st);
}

/* MimtfLayerNormGrad(dy, x, γ, μ, r) -> dx, dγ, dβ. */
static void layer_norm_grad_compute(void* unused, TF_OpKernelContext* ctx) {
  (void) unused;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[5]; /* dy, x, gamma, mean, rstd */
  TF_Tensor* out[3] = {NULL, NULL, NULL};
  int64_t n, d;
  if (get_inputs(ctx, in, 5, st) && check_2d(ctx, in[1], in[2], st, &n, &d,
      "MimtfLayerNormGrad: x must be [rows, width] and gamma [width]")
      && check_shape(ctx, in[0], 2, n, d, st, "MimtfLayerNormGrad: dy must have x's shape")
      && check_shape(ctx, in[3], 1, n, 0, st, "MimtfLayerNormGrad: mean must be [rows of x]")
      && check_shape(ctx, in[4], 1, n, 0, st, "MimtfLayerNormGrad: rstd must be [rows of x]")) {
    if (allocate_outputs(ctx, out, "MCC", n, d, st)) {
      const float* dy = (const float*) TF_TensorData(in[0]);
      const float* x = (const float*) TF_TensorData(in[1]);
      const float* gamma = (const float*) TF_TensorData(in[2]);
      const float* mean = (const float*) TF_TensorData(in[3]);
      const float* rstd = (const float*) TF_TensorData(in[4]);
      float* dx = (float*) TF_TensorData(out[0]);
      float* dg = (float*) TF_TensorData(out[1]);
      float* db = (float*) TF_TensorData(out[2]);
      int parts = row_parts(n, d);
      float* partial = (float*) malloc(sizeof(float) * (size_t) parts * 2 * (size_t) d);
      if (partial == NULL) {
        TF_SetStatus(st, 8 /* TF_RESOURCE_EXHAUSTED */, "MimtfLayerNormGrad: out of memory");
        TF_OpKernelContext_Failure(ctx, st);
      } else {
        LayerNormGradArgs args = {dy, x, gamma, mean, rstd, dx, partial, d};
        parallel_rows(layer_norm_grad_part, &args, n, parts);
        sum_parts(partial, parts, 2 * d, 0, d, dg);
        sum_parts(partial, parts, 2 * d, d, d, db);
        free(partial);
      }
    }
  }
  delete_all(out, 3);
  delete_all(in, 5);
  TF_DeleteStatus(st);
}

/* MimtfResidualLayerNorm(x, h, bias, scale, γ, β) -> out, y, μ, r. */
static void residual_layer_norm_compute(void* attrs, TF_OpKernelContext* ctx) {
  float eps = ((LayerNormAttrs*) attrs)->epsilon;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[6]; /* x, h, bias, scale, gamma, beta */
  TF_Tensor* out[4] = {NULL, NULL, NULL, NULL};
  int64_t n, d;
  if (get_inputs(ctx, in, 6, st) && check_2d(ctx, in[0], in[4], st, &n, &d,
      "MimtfResidualLayerNorm: x must be [rows, width] and gamma [width]")
      && check_shape(ctx, in[1], 2, n, d, st, "MimtfResidualLayerNorm: h must have x's shape")
      && check_shape(ctx, in[2], 1, d, 0, st, "MimtfResidualLayerNorm: bias must be [width]")
      && check_shape(ctx, in[3], 1, d, 0, st, "MimtfResidualLayerNorm: scale must be [width]")
      && check_shape(ctx, in[5], 1, d, 0, st, "MimtfResidualLayerNorm: beta must be [width]")) {
    if (allocate_outputs(ctx, out, "MMRR", n, d, st)) {
      ResidualLayerNormArgs args = {(const float*) TF_TensorData(in[0]), (const float*) TF_TensorData(in[1]),
          (const float*) TF_TensorData(in[2]), (const float*) TF_TensorData(in[3]), (const float*) TF_TensorData(in[4]),
          (const float*) TF_TensorData(in[5]), (float*) TF_TensorData(out[0]), (float*) TF_TensorData(out[1]),
          (float*) TF_TensorData(out[2]), (float*) TF_TensorData(out[3]), d, eps};
      parallel_rows(residual_layer_norm_part, &args, n, row_parts(n, d));
    }
  }
  delete_all(out, 4);
  delete_all(in, 6);
  TF_DeleteStatus(st);
}

/* MimtfResidualLayerNormGrad(dout, dy, h, bias, scale, γ, out, μ, r) -> dx, dh, dbias, dscale, dγ, dβ. */
static void residual_layer_norm_grad_compute(void* unused, TF_OpKernelContext* ctx) {
  (void) unused;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[9];
  TF_Tensor* out[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  int64_t n, d;
  if (get_inputs(ctx, in, 9, st) && check_2d(ctx, in[2], in[5], st, &n, &d,
      "MimtfResidualLayerNormGrad: h must be [rows, width] and gamma [width]")
      && check_shape(ctx, in[0], 2, n, d, st, "MimtfResidualLayerNormGrad: dout must have h's shape")
      && check_shape(ctx, in[1], 2, n, d, st, "MimtfResidualLayerNormGrad: dy must have h's shape")
      && check_shape(ctx, in[3], 1, d, 0, st, "MimtfResidualLayerNormGrad: bias must be [width]")
      && check_shape(ctx, in[4], 1, d, 0, st, "MimtfResidualLayerNormGrad: scale must be [width]")
      && check_shape(ctx, in[6], 2, n, d, st, "MimtfResidualLayerNormGrad: out must have h's shape")
      && check_shape(ctx, in[7], 1, n, 0, st, "MimtfResidualLayerNormGrad: mean must be [rows of h]")
      && check_shape(ctx, in[8], 1, n, 0, st, "MimtfResidualLayerNormGrad: rstd must be [rows of h]")) {
    if (allocate_outputs(ctx, out, "MMCCCC", n, d, st)) {
      int parts = row_parts(n, d);
      float* partial = (float*) malloc(sizeof(float) * (size_t) parts * 4 * (size_t) d);
      if (partial == NULL) {
        TF_SetStatus(st, 8 /* TF_RESOURCE_EXHAUSTED */, "MimtfResidualLayerNormGrad: out of memory");
        TF_OpKernelContext_Failure(ctx, st);
      } else {
        ResidualLayerNormGradArgs args = {(const float*) TF_TensorData(in[0]), (const float*) TF_TensorData(in[1]),
            (const float*) TF_TensorData(in[2]), (const float*) TF_TensorData(in[3]), (const float*) TF_TensorData(in[4]),
            (const float*) TF_TensorData(in[5]), (const float*) TF_TensorData(in[6]), (const float*) TF_TensorData(in[7]),
            (const float*) TF_TensorData(in[8]), (float*) TF_TensorData(out[0]), (float*) TF_TensorData(out[1]),
            partial, d};
        parallel_rows(residual_layer_norm_grad_part, &args, n, parts);
        for (int k = 0; k < 4; k++) sum_parts(partial, parts, 4 * d, k * d, d, (float*) TF_TensorData(out[2 + k]));
        free(partial);
      }
    }
  }
  delete_all(out, 6);
  delete_all(in, 9);
  TF_DeleteStatus(st);
}

static int check_rows_bias(TF_OpKernelContext* ctx, TF_Tensor* x, TF_Tensor* b, TF_Status* st, int64_t* rows,
    int64_t* width) {
  if (TF_NumDims(x) != 2 || TF_NumDims(b) != 1 || TF_Dim(b, 0) != TF_Dim(x, 1)) {
    TF_SetStatus(st, MIMTF_TF_INVALID_ARGUMENT, "MimtfBiasGelu: x must be [rows, width] and bias [width]");
    TF_OpKernelContext_Failure(ctx, st);
    return 0;
  }
  *rows = TF_Dim(x, 0);
  *width = TF_Dim(x, 1);
  return 1;
}

/* MimtfBiasGelu(x, b) -> GELU(x + b). */
static void bias_gelu_compute(void* unused, TF_OpKernelContext* ctx) {
  (void) unused;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[2];
  TF_Tensor* out[1] = {NULL};
  int64_t n, h;
  if (get_inputs(ctx, in, 2, st) && check_rows_bias(ctx, in[0], in[1], st, &n, &h)) {
    if (allocate_outputs(ctx, out, "M", n, h, st)) {
      BiasGeluArgs args = {(const float*) TF_TensorData(in[0]), (const float*) TF_TensorData(in[1]),
          (float*) TF_TensorData(out[0]), h};
      parallel_rows(bias_gelu_part, &args, n, row_parts(n, h));
    }
  }
  delete_all(out, 1);
  delete_all(in, 2);
  TF_DeleteStatus(st);
}

/* MimtfBiasGeluGrad(dy, x, b) -> dx, db. */
static void bias_gelu_grad_compute(void* unused, TF_OpKernelContext* ctx) {
  (void) unused;
  TF_Status* st = TF_NewStatus();
  TF_Tensor* in[3];
  TF_Tensor* out[2] = {NULL, NULL};
  int64_t n, h;
  if (get_inputs(ctx, in, 3, st) && check_rows_bias(ctx, in[1], in[2], st, &n, &h)
      && check_shape(ctx, in[0], 2, n, h, st, "MimtfBiasGeluGrad: dy must have x's shape")) {
    if (allocate_outputs(ctx, out, "MC", n, h, st)) {
      int parts = row_parts(n, h);
      float* partial = (float*) malloc(sizeof(float) * (size_t) parts * (size_t) h);
      if (partial == NULL) {
        TF_SetStatus(st, 8 /* TF_RESOURCE_EXHAUSTED */, "MimtfBiasGeluGrad: out of memory");
        TF_OpKernelContext_Failure(ctx, st);
      } else {
        BiasGeluGradArgs args = {(const float*) TF_TensorData(in[0]), (const float*) TF_TensorData(in[1]),
            (const float*) TF_TensorData(in[2]), (float*) TF_TensorData(out[0]), partial, h};
        parallel_rows(bias_gelu_grad_part, &args, n, parts);
        sum_parts(partial, parts, h, 0, h, (float*) TF_TensorData(out[1]));
        free(partial);
      }
    }
  }
  delete_all(out, 2);
  delete_all(in, 3);
  TF_DeleteStatus(st);
}

/* ---- registration, when the library is loaded ---- */

static void register_op(const char* name, const char** inputs, int nIn, const char** outputs, int nOut,
    const char* attr, void (*shape)(TF_ShapeInferenceContext*, TF_Status*), TF_Status* st) {
  TF_OpDefinitionBuilder* b = TF_NewOpDefinitionBuilder(name);
  for (int i = 0; i < nIn; i++) TF_OpDefinitionBuilderAddInput(b, inputs[i]);
  for (int i = 0; i < nOut; i++) TF_OpDefinitionBuilderAddOutput(b, outputs[i]);
  if (attr != NULL) TF_OpDefinitionBuilderAddAttr(b, attr);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(b, shape);
  TF_RegisterOpDefinition(b, st);
}

static void register_kernel(const char* name, void* (*create)(TF_OpKernelConstruction*),
    void (*compute)(void*, TF_OpKernelContext*), void (*del)(void*), TF_Status* st) {
  TF_KernelBuilder* k = TF_NewKernelBuilder(name, "CPU", create, compute, del);
  TF_RegisterKernelBuilder(name, k, st);
}

static void* no_attrs_create(TF_OpKernelConstruction* ctx) { (void) ctx; return NULL; }
static void no_attrs_delete(void* p) { (void) p; }

__attribute__((constructor)) static void mimtf_ops_init(void) {
  TF_Status* st = TF_NewStatus();
  static const char* lnIn[] = {"x: float", "gamma: float", "beta: float"};
  static const char* lnOut[] = {"y: float", "mean: float", "rstd: float"};
  register_op("MimtfLayerNorm", lnIn, 3, lnOut, 3, "epsilon: float = 1e-6", layer_norm_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfLayerNorm", layer_norm_create, layer_norm_compute,
      layer_norm_delete, st);
  static const char* gIn[] = {"dy: float", "x: float", "gamma: float", "mean: float", "rstd: float"};
  static const char* gOut[] = {"dx: float", "dgamma: float", "dbeta: float"};
  if (TF_GetCode(st) == MIMTF_TF_OK) register_op("MimtfLayerNormGrad", gIn, 5, gOut, 3, NULL,
      layer_norm_grad_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfLayerNormGrad", no_attrs_create,
      layer_norm_grad_compute, no_attrs_delete, st);
  static const char* bgIn[] = {"x: float", "bias: float"};
  static const char* bgOut[] = {"y: float"};
  if (TF_GetCode(st) == MIMTF_TF_OK) register_op("MimtfBiasGelu", bgIn, 2, bgOut, 1, NULL, bias_gelu_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfBiasGelu", no_attrs_create, bias_gelu_compute,
      no_attrs_delete, st);
  static const char* bggIn[] = {"dy: float", "x: float", "bias: float"};
  static const char* bggOut[] = {"dx: float", "dbias: float"};
  if (TF_GetCode(st) == MIMTF_TF_OK) register_op("MimtfBiasGeluGrad", bggIn, 3, bggOut, 2, NULL,
      bias_gelu_grad_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfBiasGeluGrad", no_attrs_create, bias_gelu_grad_compute,
      no_attrs_delete, st);
  static const char* rlIn[] = {"x: float", "h: float", "bias: float", "scale: float", "gamma: float", "beta: float"};
  static const char* rlOut[] = {"out: float", "y: float", "mean: float", "rstd: float"};
  if (TF_GetCode(st) == MIMTF_TF_OK) register_op("MimtfResidualLayerNorm", rlIn, 6, rlOut, 4,
      "epsilon: float = 1e-6", residual_layer_norm_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfResidualLayerNorm", layer_norm_create,
      residual_layer_norm_compute, layer_norm_delete, st);
  static const char* rlgIn[] = {"dout: float", "dy: float", "h: float", "bias: float", "scale: float", "gamma: float",
      "out: float", "mean: float", "rstd: float"};
  static const char* rlgOut[] = {"dx: float", "dh: float", "dbias: float", "dscale: float", "dgamma: float",
      "dbeta: float"};
  if (TF_GetCode(st) == MIMTF_TF_OK) register_op("MimtfResidualLayerNormGrad", rlgIn, 9, rlgOut, 6, NULL,
      residual_layer_norm_grad_shape, st);
  if (TF_GetCode(st) == MIMTF_TF_OK) register_kernel("MimtfResidualLayerNormGrad", no_attrs_create,
      residual_layer_norm_grad_compute, no_attrs_delete, st);
  TF_DeleteStatus(st);
}
