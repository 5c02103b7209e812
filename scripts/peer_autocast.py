"""The PyTorch peer's training step under bf16 autocast, for a fair bf16 row in scripts/bench-peer.sh.

    /usr/bin/python3 scripts/peer_autocast.py PEER_DIR [mim_step.py arguments]

Imports the peer (shared/peer, read-only) unchanged and wraps the model's forward pass in
torch.autocast("cpu", dtype=torch.bfloat16): matmuls in bf16, fp32 master weights, backward and
AdamW as the peer does them. Everything else (timing, batches, the RESULT line) is mim_step.py's.
"""
import sys

peer = sys.argv[1]
sys.path.insert(0, peer)
import _env  # noqa: E402,F401  (pins thread pools before torch loads)
import torch  # noqa: E402
import vit  # noqa: E402
import mim_step  # noqa: E402

_forward = vit.BeitMIM.forward


def _autocast_forward(self, *args):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return _forward(self, *args)


vit.BeitMIM.forward = _autocast_forward
sys.argv = ["mim_step.py"] + sys.argv[2:]
mim_step.main()
