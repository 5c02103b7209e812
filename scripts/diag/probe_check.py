#!/usr/bin/env python3
"""Reference check of mimtf's probes on features dumped by `mimtf eval --dump-features DIR`.

Fits the same probes with numpy / scikit-learn (a diagnosis tool only, never used by tests):
  knn     DINO's weighted k-NN (k=20, cosine, exp(sim/0.07)) in plain numpy
  lbfgs   multinomial logistic regression, L-BFGS to convergence (scikit-learn), on standardised
          features, for several C (inverse L2 strength)
Prints one JSON line at the end.
usage: probe_check.py DIR [--k 20] [--t 0.07] [--C 1,0.1,...]
"""
import json, sys, time, argparse
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--k", type=int, default=20)
ap.add_argument("--t", type=float, default=0.07)
ap.add_argument("--C", default="100,1,0.1,0.01")
ap.add_argument("--max-iter", type=int, default=3000)
a = ap.parse_args()
d = a.dir
xtr = np.load(f"{d}/train_features.npy").astype(np.float64)
ytr = np.load(f"{d}/train_labels.npy").astype(np.int64)
xte = np.load(f"{d}/test_features.npy").astype(np.float64)
yte = np.load(f"{d}/test_labels.npy").astype(np.int64)
out = {"dir": d, "n_train": len(ytr), "n_test": len(yte), "dim": xtr.shape[1]}

# k-NN, DINO's eval_knn
def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
tr, te = unit(xtr).astype(np.float32), unit(xte).astype(np.float32)
C = int(max(ytr.max(), yte.max()) + 1)
hits = 0
for s in range(0, len(te), 1000):
    sim = te[s:s + 1000] @ tr.T
    idx = np.argpartition(-sim, a.k - 1, axis=1)[:, :a.k]
    w = np.exp(np.take_along_axis(sim, idx, 1) / a.t)
    sc = np.zeros((len(idx), C))
    np.add.at(sc, (np.repeat(np.arange(len(idx)), a.k), ytr[idx].ravel()), w.ravel())
    hits += (sc.argmax(1) == yte[s:s + 1000]).sum()
out["knn_top1"] = hits / len(yte)
print(f"numpy k-NN k={a.k} T={a.t}: {100 * out['knn_top1']:.2f}%", flush=True)

# spectrum of the standardised train features: how ill-conditioned the probe's problem is
mu, sd = xtr.mean(0), xtr.std(0)
sd[(sd == 0) | (sd < 1e-6 * sd.max())] = 1
ztr, zte = (xtr - mu) / sd, (xte - mu) / sd
ev = np.linalg.eigvalsh(np.cov(ztr.T))[::-1]
out["std_eig_top"] = float(ev[0]); out["std_eig_median"] = float(np.median(ev))
out["std_eig_min"] = float(ev[-1])
out["effective_rank"] = float(np.exp(-(p := ev / ev.sum()).clip(1e-30) @ np.log(p.clip(1e-30))))
print(f"standardised covariance eigenvalues: top {ev[0]:.3g}, median {np.median(ev):.3g}, min {ev[-1]:.3g}, "
      f"effective rank {out['effective_rank']:.1f} of {len(ev)}", flush=True)

from sklearn.linear_model import LogisticRegression
res = {}
for c in [float(v) for v in a.C.split(",")]:
    t0 = time.time()
    m = LogisticRegression(C=c, max_iter=a.max_iter, tol=1e-6)
    m.fit(ztr, ytr)
    r = {"test_top1": float((m.predict(zte) == yte).mean()), "train_top1": float((m.predict(ztr) == ytr).mean()),
         "iters": int(m.n_iter_[0]), "seconds": round(time.time() - t0, 1),
         "w_max_abs": float(np.abs(m.coef_).max())}
    res[str(c)] = r
    print(f"L-BFGS C={c}: test {100 * r['test_top1']:.2f}% train {100 * r['train_top1']:.2f}% "
          f"({r['iters']} it, {r['seconds']} s, max|w| {r['w_max_abs']:.3g})", flush=True)
out["lbfgs"] = res
print(json.dumps(out))
