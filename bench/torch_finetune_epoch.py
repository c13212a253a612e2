#!/usr/bin/python3
"""PyTorch peer for one epoch of `cmd/finetune`: the classic transfer-learning recipe on the CPU.

Same work as `go run ./cmd/finetune -data DIR -weights none -size 150 -epochs 1 -augment`:
VGG16 conv base (frozen, eval mode, no grad) -> GlobalAveragePooling -> Dense(256, relu) ->
Dense(n), softmax cross-entropy, Adam(lr=1e-3, eps=1e-7), batch 16, images resized to 150x150 at
load time (nearest, as Keras), then Keras's classic augmentation (shear 0.2 degrees, zoom
[0.8, 1.2] independently in x and y, horizontal flip), caffe preprocessing, and a validation pass.
Decoding runs in DataLoader workers (as many as threads), so input is overlapped with compute
as in our pipeline.

Usage (Debian's python3-torch, python3-torchvision):
    /usr/bin/python3 bench/torch_finetune_epoch.py --data DIR --threads 2
DIR holds train/<class>/* and validation/<class>/*. Prints one line:
    torch_epoch train_images=N val_images=M seconds=S images_per_s=R peak_rss_mib=P
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from torchvision.datasets import ImageFolder
from torchvision.models.vgg import cfgs, make_layers

MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(3, 1, 1)


def caffe(x):
    # x: float tensor (3, H, W) RGB in 0..1 from ToTensor -> 0..255 BGR minus the ImageNet mean.
    return x.flip(0) * 255.0 - MEAN_BGR


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    resize = T.Resize((args.size, args.size), interpolation=T.InterpolationMode.NEAREST)
    train_tf = T.Compose([
        resize,
        T.RandomAffine(degrees=0, shear=0.2, scale=None),
        # Keras zooms x and y independently in [0.8, 1.2]; torchvision's scale is isotropic, which
        # costs the same per image.
        T.RandomAffine(degrees=0, scale=(0.8, 1.2)),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Lambda(caffe),
    ])
    val_tf = T.Compose([resize, T.ToTensor(), T.Lambda(caffe)])
    train = ImageFolder(f"{args.data}/train", transform=train_tf)
    val = ImageFolder(f"{args.data}/validation", transform=val_tf)
    kw = dict(batch_size=args.batch, num_workers=args.threads, persistent_workers=False)
    train_dl = torch.utils.data.DataLoader(train, shuffle=True, **kw)
    val_dl = torch.utils.data.DataLoader(val, shuffle=False, **kw)

    base = make_layers(cfgs["D"], batch_norm=False).eval()
    base.requires_grad_(False)
    head = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, len(train.classes)))
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, eps=1e-7)

    start = time.perf_counter()
    for x, y in train_dl:
        with torch.no_grad():
            f = base(x).mean(dim=(2, 3))
        loss = F.cross_entropy(head(f), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    correct = 0
    with torch.no_grad():
        for x, y in val_dl:
            correct += (head(base(x).mean(dim=(2, 3))).argmax(1) == y).sum().item()
    secs = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch_epoch train_images={len(train)} val_images={len(val)} seconds={secs:.1f} "
          f"images_per_s={len(train) / secs:.2f} val_accuracy={correct / max(1, len(val)):.4f} "
          f"peak_rss_mib={rss:.0f}")


if __name__ == "__main__":
    main()
