/* descend's compiled kernels: each one is a single pass over flat buffers doing, element by
 * element, exactly the sequence of IEEE float operations that its NumPy reference (the
 * composed transforms of descend/optim/transforms.py, and descend/kernels/reference.py)
 * does one whole-array ufunc call at a time. Every intermediate is rounded to the buffer's
 * type T (float or double), scalars are converted to T first as NumPy converts a Python float
 * (NEP 50), and the build disables contraction into fused multiply-adds
 * (-ffp-contract=off), so the results are bit-identical to the reference
 * (tests/test_kernels.py checks it on random cases).
 *
 * Built by setup.py as the optional extension descend.kernels._fused; descend falls back to
 * the NumPy reference when it is missing (no compiler) or when DESCEND_KERNELS=numpy.
 * Arrays come in through the buffer protocol: no NumPy headers are needed to build it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- buffer handling */
typedef struct {
    Py_buffer view;
    int held;
} Buf;

/* Get a C-contiguous buffer of n items of the given type (f: float, d: double) from o, or
 * leave it empty when o is None and optional is set. */
static int get_buf(PyObject *o, Buf *b, Py_ssize_t n, char type, int writable, int optional,
                   const char *name)
{
    b->held = 0;
    if (o == Py_None) {
        if (optional) return 0;
        PyErr_Format(PyExc_TypeError, "kernel argument %s must be an array, not None", name);
        return -1;
    }
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &b->view, flags) < 0) return -1;
    b->held = 1;
    const char *fmt = b->view.format ? b->view.format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') fmt++;
    Py_ssize_t itemsize = type == 'f' ? 4 : 8;
    if (fmt[0] != type || fmt[1] != '\0' || b->view.itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "kernel argument %s has format '%s', expected '%c'",
                     name, b->view.format, type);
        return -1;
    }
    if (n >= 0 && b->view.len != n * itemsize) {
        PyErr_Format(PyExc_ValueError, "kernel argument %s has %zd items, expected %zd", name,
                     b->view.len / itemsize, n);
        return -1;
    }
    return 0;
}

static void release(Buf *bufs, int count)
{
    for (int i = 0; i < count; i++)
        if (bufs[i].held) PyBuffer_Release(&bufs[i].view);
}

#define SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)

#define PTR(b, T) ((T *)((b).held ? (b).view.buf : NULL))

/* np.maximum: NaN in either operand propagates (the first one if both). */
#define NP_MAX(a, b) (((a) >= (b) || (a) != (a)) ? (a) : (b))

/* Specialise a loop on a run-time flag: both branches redeclare the flag as a constant, so
 * the compiler drops the dead code from each copy and vectorises a branch-free loop. */
#define ON(flag, X) if (flag) { const int flag = 1; X } else { const int flag = 0; X }

/* x86-64 Linux with GCC: each loop is also compiled for AVX-512 and AVX2 and the best version
 * is picked at load time (the arithmetic is the same IEEE operations, so the results are too).
 * AVX-512 makes the Adam pass about 1.5 x faster than AVX2 where the CPU has it (16 square
 * roots and divisions per instruction instead of 8; docs/performance.md). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MULTI __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTI
#endif

/* ------------------------------------------------------------------ optimizers
 * Scalars arrive as doubles (Python floats) and are converted to T where NumPy would convert
 * them: a Python float operand of a ufunc on a float32 array becomes a float32. */

/* weight decay (L2): d = g + wd * p   (np.multiply(p, wd, out=d); np.add(g, d, out=d)) */
#define GRAD(T) T d = g[i]; if (l2) { T w_ = p[i] * wd; d = d + w_; }

/* PyTorch's lerp: s <- s + w (d - s) for |w| < 0.5, else d - (d - s)(1 - w) */
#define LERP(T, s, d, w, w1, hi)                  \
    do {                                          \
        T diff_ = (d) - (s);                      \
        if (hi) { diff_ = diff_ * (w1); s = (d) - diff_; } \
        else { diff_ = diff_ * (w); s = (s) + diff_; }     \
    } while (0)

#define ADAM_BODY(T)                                                                      \
    {                                                                                     \
        T *restrict p = (T *)b[0].view.buf, *restrict g = (T *)b[1].view.buf,              \
          *restrict s = (T *)b[2].view.buf, *restrict r = (T *)b[3].view.buf,             \
          *restrict rm = PTR(b[4], T);                                                    \
        const T wd = (T)c_wd, decay = (T)c_decay, w = (T)c_w, w1 = (T)c_w1, b1 = (T)c_b1, \
                omb1 = (T)c_omb1, b2 = (T)c_b2, omb2 = (T)c_omb2, k1 = (T)c_k1,           \
                k2 = (T)c_k2, k3 = (T)c_k3;                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                                              \
            if (decoupled) p[i] = p[i] * decay;                                           \
            GRAD(T)                                                                       \
            T si = s[i], a;                                                               \
            if (lecture) {                                                                \
                si = si * b1; a = d * omb1; si = si + a;                                  \
                a = d * d; a = a * omb2;                                                  \
            } else {                                                                      \
                LERP(T, si, d, w, w1, hi);                                                \
                a = d * omb2; a = a * d;                                                  \
            }                                                                             \
            s[i] = si;                                                                    \
            T ri = r[i] * b2; ri = ri + a; r[i] = ri;                                     \
            if (amsgrad) { ri = NP_MAX(rm[i], ri); rm[i] = ri; }                          \
            /* denominator: sqrt(r / bc2 + eps) (lecture; k1 = bc2, k2 = eps) or          \
               sqrt(r) + eps sqrt(bc2) (PyTorch; k2 = eps sqrt(bc2)); k3 the step factor */ \
            if (lecture) { a = ri / k1; a = a + k2; a = SQRT(a); }                        \
            else { a = SQRT(ri); a = a + k2; }                                            \
            a = si / a; a = a * k3; p[i] = p[i] + a;                                      \
        }                                                                                 \
    }

static MULTI void adam_kernel(Buf *b, Py_ssize_t n, int is64, int lecture, int amsgrad, int l2,
                              int decoupled, int hi, double c_wd, double c_decay, double c_w,
                              double c_w1, double c_b1, double c_omb1, double c_b2,
                              double c_omb2, double c_k1, double c_k2, double c_k3)
{
    if (is64) { ON(lecture, ON(amsgrad, ON(l2, ON(decoupled, ON(hi, ADAM_BODY(double)))))) }
    else { ON(lecture, ON(amsgrad, ON(l2, ON(decoupled, ON(hi, ADAM_BODY(float)))))) }
}

static PyObject *adam(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    int is64, lecture, amsgrad, l2, decoupled, hi;
    double c_wd, c_decay, c_w, c_w1, c_b1, c_omb1, c_b2, c_omb2, c_k1, c_k2, c_k3;
    if (!PyArg_ParseTuple(args, "OOOOOppppppddddddddddd", &o[0], &o[1], &o[2], &o[3], &o[4],
                          &is64, &lecture, &amsgrad, &l2, &decoupled, &hi, &c_wd, &c_decay,
                          &c_w, &c_w1, &c_b1, &c_omb1, &c_b2, &c_omb2, &c_k1, &c_k2, &c_k3))
        return NULL;
    Buf b[5] ; memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    static const char *names[] = {"p", "g", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    if (get_buf(o[0], &b[0], -1, type, 1, 0, names[0]) < 0) { release(b, 5); return NULL; }
    Py_ssize_t n = b[0].view.len / b[0].view.itemsize;
    for (int k = 1; k < 5; k++)
        if (get_buf(o[k], &b[k], n, type, k != 1, k == 4, names[k]) < 0) { release(b, 5); return NULL; }
    if (amsgrad && !b[4].held) {
        release(b, 5);
        PyErr_SetString(PyExc_TypeError, "adam: amsgrad needs max_exp_avg_sq");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    adam_kernel(b, n, is64, lecture, amsgrad, l2, decoupled, hi, c_wd, c_decay, c_w, c_w1, c_b1,
                c_omb1, c_b2, c_omb2, c_k1, c_k2, c_k3);
    Py_END_ALLOW_THREADS
    release(b, 5);
    Py_RETURN_NONE;
}

/* SGD. mode 0: no momentum, p += d * k1 (k1 = -lr).
 * mode 1 (PyTorch momentum): first: v = d; else v = v * mu (+ d * damp1 if dampened, else + d);
 *   nesterov: u = v * mu; u = d + u; u = u * k1; else u = v * k1;  p += u.
 * mode 2 (lecture momentum): v = v * mu; v = v + d; nesterov: p += d * k1; p += v * k2
 *   (k2 = -lr_next * mu, the next iteration's look-ahead); else p += v * k1. */
#define SGD_BODY(T)                                                                       \
    {                                                                                     \
        T *restrict p = (T *)b[0].view.buf, *restrict g = (T *)b[1].view.buf,              \
          *restrict v = PTR(b[2], T);                                                     \
        const T wd = (T)c_wd, mu = (T)c_mu, damp1 = (T)c_damp1, k1 = (T)c_k1,             \
                k2 = (T)c_k2;                                               \
        for (Py_ssize_t i = 0; i < n; i++) {                                              \
            GRAD(T)                                                                       \
            if (mode == 0) { T u = d * k1; p[i] = p[i] + u; continue; }                   \
            if (mode == 2) {                                                              \
                T vi = v[i] * mu; vi = vi + d; v[i] = vi;                                 \
                if (nesterov) { T u = d * k1; p[i] = p[i] + u; u = vi * k2; p[i] = p[i] + u; } \
                else { T u = vi * k1; p[i] = p[i] + u; }                                  \
                continue;                                                                 \
            }                                                                             \
            T vi;                                                                         \
            if (first) vi = d;                                                            \
            else {                                                                        \
                vi = v[i] * mu;                                                           \
                if (dampened) { T u = d * damp1; vi = vi + u; } else vi = vi + d;         \
            }                                                                             \
            v[i] = vi;                                                                    \
            T u;                                                                          \
            if (nesterov) { u = vi * mu; u = d + u; u = u * k1; } else u = vi * k1;       \
            p[i] = p[i] + u;                                                              \
        }                                                                                 \
    }

static MULTI void sgd_kernel(Buf *b, Py_ssize_t n, int is64, int mode, int l2, int first,
                             int dampened, int nesterov, double c_wd, double c_mu,
                             double c_damp1, double c_k1, double c_k2)
{
    if (mode == 0) {
        const int mode = 0;
        if (is64) { ON(l2, SGD_BODY(double)) } else { ON(l2, SGD_BODY(float)) }
    } else if (mode == 1) {
        const int mode = 1;
        if (is64) { ON(l2, ON(first, ON(dampened, ON(nesterov, SGD_BODY(double))))) }
        else { ON(l2, ON(first, ON(dampened, ON(nesterov, SGD_BODY(float))))) }
    } else {
        const int mode = 2;
        if (is64) { ON(l2, ON(nesterov, SGD_BODY(double))) }
        else { ON(l2, ON(nesterov, SGD_BODY(float))) }
    }
}

static PyObject *sgd(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    int is64, mode, l2, first, dampened, nesterov;
    double c_wd, c_mu, c_damp1, c_k1, c_k2;
    if (!PyArg_ParseTuple(args, "OOOpippppddddd", &o[0], &o[1], &o[2], &is64, &mode, &l2,
                          &first, &dampened, &nesterov, &c_wd, &c_mu, &c_damp1, &c_k1, &c_k2))
        return NULL;
    Buf b[3] ; memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    static const char *names[] = {"p", "g", "momentum_buffer"};
    if (get_buf(o[0], &b[0], -1, type, 1, 0, names[0]) < 0) { release(b, 3); return NULL; }
    Py_ssize_t n = b[0].view.len / b[0].view.itemsize;
    for (int k = 1; k < 3; k++)
        if (get_buf(o[k], &b[k], n, type, k != 1, mode == 0, names[k]) < 0) { release(b, 3); return NULL; }
    Py_BEGIN_ALLOW_THREADS
    sgd_kernel(b, n, is64, mode, l2, first, dampened, nesterov, c_wd, c_mu, c_damp1, c_k1, c_k2);
    Py_END_ALLOW_THREADS
    release(b, 3);
    Py_RETURN_NONE;
}

/* Adagrad. r = r + d*d; PyTorch: a = SQRT(r) + eps; u = d * k1 (k1 = -clr); u = u / a; p += u.
 * lecture: a = r + eps; a = SQRT(a); u = d / a; u = u * k1; p += u. */
#define ADAGRAD_BODY(T)                                                                   \
    {                                                                                     \
        T *restrict p = (T *)b[0].view.buf, *restrict g = (T *)b[1].view.buf,              \
          *restrict r = (T *)b[2].view.buf;                                               \
        const T wd = (T)c_wd, eps = (T)c_eps, k1 = (T)c_k1;                               \
        for (Py_ssize_t i = 0; i < n; i++) {                                              \
            GRAD(T)                                                                       \
            T a = d * d; T ri = r[i] + a; r[i] = ri;                                      \
            T u;                                                                          \
            if (lecture) { a = ri + eps; a = SQRT(a); }                                   \
            else { a = SQRT(ri); a = a + eps; }                                           \
            u = d / a; u = u * k1;                                                        \
            p[i] = p[i] + u;                                                              \
        }                                                                                 \
    }

static MULTI void adagrad_kernel(Buf *b, Py_ssize_t n, int is64, int lecture, int l2,
                                 double c_wd, double c_eps, double c_k1)
{
    if (is64) { ON(lecture, ON(l2, ADAGRAD_BODY(double))) }
    else { ON(lecture, ON(l2, ADAGRAD_BODY(float))) }
}

static PyObject *adagrad(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    int is64, lecture, l2;
    double c_wd, c_eps, c_k1;
    if (!PyArg_ParseTuple(args, "OOOpppddd", &o[0], &o[1], &o[2], &is64, &lecture, &l2, &c_wd,
                          &c_eps, &c_k1))
        return NULL;
    Buf b[3] ; memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    static const char *names[] = {"p", "g", "sum"};
    if (get_buf(o[0], &b[0], -1, type, 1, 0, names[0]) < 0) { release(b, 3); return NULL; }
    Py_ssize_t n = b[0].view.len / b[0].view.itemsize;
    for (int k = 1; k < 3; k++)
        if (get_buf(o[k], &b[k], n, type, k != 1, 0, names[k]) < 0) { release(b, 3); return NULL; }
    Py_BEGIN_ALLOW_THREADS
    adagrad_kernel(b, n, is64, lecture, l2, c_wd, c_eps, c_k1);
    Py_END_ALLOW_THREADS
    release(b, 3);
    Py_RETURN_NONE;
}

/* RMSprop. PyTorch: a = d * oma; a = a * d.  lecture: a = d * d; a = a * oma.  r = r * alpha + a.
 * centered: PyTorch m = lerp(m, d, oma); lecture m = m * alpha + d * oma;  a = r - m*m;
 * denominator: PyTorch SQRT(.) + eps; lecture SQRT(. + eps).
 * momentum: v = v * mom; u = d / den; v = v + u; u = v * k1 (k1 = -lr); p += u.
 * otherwise: u = d / den; u = u * k1; p += u. */
#define RMSPROP_BODY(T)                                                                   \
    {                                                                                     \
        T *restrict p = (T *)b[0].view.buf, *restrict g = (T *)b[1].view.buf,              \
          *restrict r = (T *)b[2].view.buf, *restrict m = PTR(b[3], T),                   \
          *restrict v = PTR(b[4], T);                                                     \
        const T wd = (T)c_wd, alpha = (T)c_alpha, oma = (T)c_oma, w1 = (T)c_w1,           \
                eps = (T)c_eps, mom = (T)c_mom, k1 = (T)c_k1;                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                              \
            GRAD(T)                                                                       \
            T a;                                                                          \
            if (lecture) { a = d * d; a = a * oma; } else { a = d * oma; a = a * d; }     \
            T ri = r[i] * alpha; ri = ri + a; r[i] = ri;                                  \
            T den = ri;                                                                   \
            if (centered) {                                                               \
                T mi = m[i];                                                              \
                if (lecture) { mi = mi * alpha; T t_ = d * oma; mi = mi + t_; }           \
                else LERP(T, mi, d, oma, w1, hi);                                         \
                m[i] = mi;                                                                \
                T sq = mi * mi; den = ri - sq;                                            \
            }                                                                             \
            if (lecture) { den = den + eps; den = SQRT(den); }                            \
            else { den = SQRT(den); den = den + eps; }                                    \
            T u = d / den;                                                                \
            if (momentum) { T vi = v[i] * mom; vi = vi + u; v[i] = vi; u = vi * k1; }     \
            else u = u * k1;                                                              \
            p[i] = p[i] + u;                                                              \
        }                                                                                 \
    }

static MULTI void rmsprop_kernel(Buf *b, Py_ssize_t n, int is64, int lecture, int l2,
                                 int centered, int hi, int momentum, double c_wd,
                                 double c_alpha, double c_oma, double c_w1, double c_eps,
                                 double c_mom, double c_k1)
{
    if (is64) { ON(lecture, ON(l2, ON(centered, ON(hi, ON(momentum, RMSPROP_BODY(double)))))) }
    else { ON(lecture, ON(l2, ON(centered, ON(hi, ON(momentum, RMSPROP_BODY(float)))))) }
}

static PyObject *rmsprop(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    int is64, lecture, l2, centered, hi, momentum;
    double c_wd, c_alpha, c_oma, c_w1, c_eps, c_mom, c_k1;
    if (!PyArg_ParseTuple(args, "OOOOOppppppddddddd", &o[0], &o[1], &o[2], &o[3], &o[4],
                          &is64, &lecture, &l2, &centered, &hi, &momentum, &c_wd, &c_alpha,
                          &c_oma, &c_w1, &c_eps, &c_mom, &c_k1))
        return NULL;
    Buf b[5] ; memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    static const char *names[] = {"p", "g", "square_avg", "grad_avg", "momentum_buffer"};
    if (get_buf(o[0], &b[0], -1, type, 1, 0, names[0]) < 0) { release(b, 5); return NULL; }
    Py_ssize_t n = b[0].view.len / b[0].view.itemsize;
    for (int k = 1; k < 5; k++) {
        int optional = (k == 3 && !centered) || (k == 4 && !momentum);
        if (get_buf(o[k], &b[k], n, type, k != 1, optional, names[k]) < 0) { release(b, 5); return NULL; }
    }
    if ((centered && !b[3].held) || (momentum && !b[4].held)) {
        release(b, 5);
        PyErr_SetString(PyExc_TypeError, "rmsprop: a state buffer is missing");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rmsprop_kernel(b, n, is64, lecture, l2, centered, hi, momentum, c_wd, c_alpha, c_oma, c_w1,
                   c_eps, c_mom, c_k1);
    Py_END_ALLOW_THREADS
    release(b, 5);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ elementwise (network)
 * activation_backward(g, y, gz, gb): gz (N, M) <- g * [y > 0] (relu: the reference multiplies
 * by the boolean mask, so -0.0 and NaN behave as np.multiply does) or g * (1 - y*y) (tanh),
 * and gb (M,) <- the column sums of gz added row after row starting from 0, which is what
 * np.add.reduce(gz, axis=0) does for a C-ordered array. gb may be None. */
#define ACT_BACKWARD_BODY(T)                                                              \
    {                                                                                     \
        const T *restrict g = (const T *)b[0].view.buf, *restrict y = (const T *)b[1].view.buf; \
        T *restrict gz = (T *)b[2].view.buf, *restrict gb = PTR(b[3], T);                 \
        if (sums) for (Py_ssize_t j = 0; j < cols; j++) gb[j] = (T)0;                     \
        for (Py_ssize_t i = 0; i < rows; i++) {                                           \
            const T *gr = g + i * cols, *yr = y + i * cols; T *zr = gz + i * cols;        \
            for (Py_ssize_t j = 0; j < cols; j++) {                                       \
                T yv = yr[j], gv = gr[j];                                                 \
                if (tanh_) { T t_ = yv * yv; t_ = (T)1 - t_; gv = gv * t_; }              \
                else gv = (yv > (T)0) ? gv : gv * (T)0; /* = gv * [yv > 0], no branch */ \
                zr[j] = gv;                                                               \
            }                                                                             \
            if (sums) for (Py_ssize_t j = 0; j < cols; j++) gb[j] = gb[j] + zr[j];        \
        }                                                                                 \
    }

static MULTI void act_backward_kernel(Buf *b, int is64, int tanh_, int sums, Py_ssize_t rows,
                                      Py_ssize_t cols)
{
    if (is64) { ON(tanh_, ON(sums, ACT_BACKWARD_BODY(double))) }
    else { ON(tanh_, ON(sums, ACT_BACKWARD_BODY(float))) }
}

static PyObject *activation_backward(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    int is64, tanh_;
    Py_ssize_t rows, cols;
    if (!PyArg_ParseTuple(args, "OOOOppnn", &o[0], &o[1], &o[2], &o[3], &is64, &tanh_, &rows,
                          &cols))
        return NULL;
    Buf b[4];
    memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    static const char *names[] = {"grad", "out", "grad_out", "bias_grad"};
    Py_ssize_t sizes[4] = {rows * cols, rows * cols, rows * cols, cols};
    for (int k = 0; k < 4; k++)
        if (get_buf(o[k], &b[k], sizes[k], type, k >= 2, k == 3, names[k]) < 0) { release(b, 4); return NULL; }
    int sums = b[3].held;
    Py_BEGIN_ALLOW_THREADS
    act_backward_kernel(b, is64, tanh_, sums, rows, cols);
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
}

/* bias_relu(h, bias): h (N, M) <- relu(h + bias) in place, relu(x) = x if x > 0 or x is NaN,
 * else +0.0 (the reference: np.add, np.maximum(., 0), then + 0.0, which turns the -0.0 that
 * np.maximum may pass through into +0.0). */
#define BIAS_RELU_BODY(T)                                                                 \
    {                                                                                     \
        T *restrict h = (T *)b[0].view.buf; const T *restrict bias = (const T *)b[1].view.buf; \
        for (Py_ssize_t i = 0; i < rows; i++) {                                           \
            T *hr = h + i * cols;                                                         \
            for (Py_ssize_t j = 0; j < cols; j++) {                                       \
                T x = hr[j] + bias[j];                                                    \
                hr[j] = (x > (T)0 || x != x) ? x : (T)0;                                  \
            }                                                                             \
        }                                                                                 \
    }

static MULTI void bias_relu_kernel(Buf *b, int is64, Py_ssize_t rows, Py_ssize_t cols)
{
    if (is64) BIAS_RELU_BODY(double) else BIAS_RELU_BODY(float)
}

static PyObject *bias_relu(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    int is64;
    Py_ssize_t rows, cols;
    if (!PyArg_ParseTuple(args, "OOpnn", &o[0], &o[1], &is64, &rows, &cols)) return NULL;
    Buf b[2];
    memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    if (get_buf(o[0], &b[0], rows * cols, type, 1, 0, "h") < 0 ||
        get_buf(o[1], &b[1], cols, type, 0, 0, "bias") < 0) { release(b, 2); return NULL; }
    Py_BEGIN_ALLOW_THREADS
    bias_relu_kernel(b, is64, rows, cols);
    Py_END_ALLOW_THREADS
    release(b, 2);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------- softmax + cross-entropy
 * xent_shift(z, labels, e, picked): for logits z (N, C) and labels (N,) (int64, in range:
 * checked by the caller), e (C, N) <- (z - max_c z)^T (the row maximum as np.maximum.reduce
 * takes it: NaN propagates) and picked (N,) <- e[label_i, i]. np.exp / np.add.reduce / np.log
 * follow in NumPy on both paths (NumPy's exp and log are its own, not libm's).
 * xent_grad(e, s, labels, p, up): p (N, C) <- e^T * coef[:, None] with coef = up / s (one
 * division per row, as np.divide(up, s) in T), then p[i, label_i] <- p[i, label_i] - up.
 * labels_in_range(labels, classes): whether every label is in 0..classes-1 (no arithmetic,
 * so nothing to match bit for bit). */
#define XENT_SHIFT_BODY(T)                                                                \
    {                                                                                     \
        const T *restrict z = (const T *)b[0].view.buf;                                   \
        const long long *restrict y = (const long long *)b[1].view.buf;                   \
        T *restrict e = (T *)b[2].view.buf, *restrict picked = (T *)b[3].view.buf;        \
        for (Py_ssize_t i = 0; i < rows; i++) {                                           \
            const T *zr = z + i * cols;                                                   \
            T m = zr[0];                                                                  \
            for (Py_ssize_t j = 1; j < cols; j++) m = NP_MAX(m, zr[j]);                   \
            for (Py_ssize_t j = 0; j < cols; j++) e[j * rows + i] = zr[j] - m;            \
            picked[i] = e[y[i] * rows + i];                                               \
        }                                                                                 \
    }

static MULTI void xent_shift_kernel(Buf *b, int is64, Py_ssize_t rows, Py_ssize_t cols)
{
    if (is64) XENT_SHIFT_BODY(double) else XENT_SHIFT_BODY(float)
}

#define XENT_GRAD_BODY(T)                                                                 \
    {                                                                                     \
        const T *restrict e = (const T *)b[0].view.buf, *restrict s = (const T *)b[1].view.buf; \
        const long long *restrict y = (const long long *)b[2].view.buf;                   \
        T *restrict p = (T *)b[3].view.buf;                                               \
        const T up = (T)c_up;                                                             \
        for (Py_ssize_t i = 0; i < rows; i++) {                                           \
            T *pr = p + i * cols; const T c = up / s[i];                                  \
            for (Py_ssize_t j = 0; j < cols; j++) pr[j] = e[j * rows + i] * c;            \
            pr[y[i]] = pr[y[i]] - up;                                                     \
        }                                                                                 \
    }

static MULTI void xent_grad_kernel(Buf *b, int is64, Py_ssize_t rows, Py_ssize_t cols, double c_up)
{
    if (is64) XENT_GRAD_BODY(double) else XENT_GRAD_BODY(float)
}

static int get_labels(PyObject *o, Buf *b, Py_ssize_t n)
{
    b->held = 0;
    if (PyObject_GetBuffer(o, &b->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    b->held = 1;
    const char *fmt = b->view.format ? b->view.format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') fmt++;
    if ((fmt[0] != 'q' && fmt[0] != 'l') || fmt[1] != '\0' || b->view.itemsize != 8 ||
        b->view.len != n * 8) {
        PyErr_SetString(PyExc_TypeError, "labels must be n contiguous int64");
        return -1;
    }
    return 0;
}

static PyObject *xent_shift(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    int is64;
    Py_ssize_t rows, cols;
    if (!PyArg_ParseTuple(args, "OOOOpnn", &o[0], &o[1], &o[2], &o[3], &is64, &rows, &cols))
        return NULL;
    if (rows < 1 || cols < 1) {
        PyErr_SetString(PyExc_ValueError, "xent_shift needs at least one row and one class");
        return NULL;
    }
    Buf b[4];
    memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    if (get_buf(o[0], &b[0], rows * cols, type, 0, 0, "z") < 0 || get_labels(o[1], &b[1], rows) < 0 ||
        get_buf(o[2], &b[2], rows * cols, type, 1, 0, "e") < 0 ||
        get_buf(o[3], &b[3], rows, type, 1, 0, "picked") < 0) { release(b, 4); return NULL; }
    Py_BEGIN_ALLOW_THREADS
    xent_shift_kernel(b, is64, rows, cols);
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
}

static PyObject *xent_grad(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    int is64;
    Py_ssize_t rows, cols;
    double up;
    if (!PyArg_ParseTuple(args, "OOOOpnnd", &o[0], &o[1], &o[2], &o[3], &is64, &rows, &cols, &up))
        return NULL;
    Buf b[4];
    memset(b, 0, sizeof b);
    char type = is64 ? 'd' : 'f';
    if (get_buf(o[0], &b[0], rows * cols, type, 0, 0, "e") < 0 ||
        get_buf(o[1], &b[1], rows, type, 0, 0, "s") < 0 || get_labels(o[2], &b[2], rows) < 0 ||
        get_buf(o[3], &b[3], rows * cols, type, 1, 0, "p") < 0) { release(b, 4); return NULL; }
    Py_BEGIN_ALLOW_THREADS
    xent_grad_kernel(b, is64, rows, cols, up);
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
}

static PyObject *labels_in_range(PyObject *self, PyObject *args)
{
    PyObject *o;
    Py_ssize_t n;
    long long classes;
    if (!PyArg_ParseTuple(args, "OnL", &o, &n, &classes)) return NULL;
    Buf b;
    if (get_labels(o, &b, n) < 0) { release(&b, 1); return NULL; }
    const long long *y = (const long long *)b.view.buf;
    /* As unsigned numbers negative labels are huge: one comparison per label. */
    unsigned long long bad = 0;
    for (Py_ssize_t i = 0; i < n; i++) bad |= (unsigned long long)y[i] >= (unsigned long long)classes;
    release(&b, 1);
    return PyBool_FromLong(!bad);
}

/* ------------------------------------------------------- subnormal numbers
 * Opt-in flush-to-zero (FTZ: subnormal results become zero) and denormals-are-zero (DAZ:
 * subnormal inputs are read as zero) for the calling thread, as torch.set_flush_denormal.
 * Subnormal arithmetic is done in microcode on x86 CPUs: W1's Adam first moments of rarely
 * active inputs decay into the subnormal range, and the Adam pass then takes about twice as
 * long (docs/performance.md, "Third round"). The mode is a property of the thread (MXCSR), so
 * it changes NumPy's own float operations in that thread the same way: the compiled and the
 * NumPy kernels stay bit-identical to each other, no longer to strict IEEE arithmetic. */
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u /* MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero) */
#endif

static PyObject *set_flush_denormal(PyObject *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
#ifdef FTZ_DAZ
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | FTZ_DAZ) : (csr & ~FTZ_DAZ));
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyObject *flush_denormal(PyObject *self, PyObject *unused)
{
#ifdef FTZ_DAZ
    return PyBool_FromLong((_mm_getcsr() & FTZ_DAZ) == FTZ_DAZ);
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"adam", adam, METH_VARARGS, "Fused Adam / AdamW update (see descend.optim.transforms)."},
    {"sgd", sgd, METH_VARARGS, "Fused SGD update (see descend.optim.transforms)."},
    {"adagrad", adagrad, METH_VARARGS, "Fused Adagrad update (see descend.optim.transforms)."},
    {"rmsprop", rmsprop, METH_VARARGS, "Fused RMSprop update (see descend.optim.transforms)."},
    {"activation_backward", activation_backward, METH_VARARGS,
     "gz = g * relu'(y) or g * (1 - y^2), and its column sums."},
    {"bias_relu", bias_relu, METH_VARARGS, "h = relu(h + bias) in place."},
    {"xent_shift", xent_shift, METH_VARARGS, "e = (z - max z)^T and the labels' entries."},
    {"xent_grad", xent_grad, METH_VARARGS, "p = e^T (up / s), minus up at the labels."},
    {"labels_in_range", labels_in_range, METH_VARARGS, "Whether every label is in 0..classes-1."},
    {"set_flush_denormal", set_flush_denormal, METH_O,
     "Flush subnormal floats to zero (FTZ + DAZ) in this thread, or stop; True if supported."},
    {"flush_denormal", flush_denormal, METH_NOARGS, "Whether this thread flushes subnormals."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fused", "descend's fused compiled kernels (see descend.kernels).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
