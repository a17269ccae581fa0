#!/usr/bin/env python3
"""The Keras side of bench/trainer-vs-keras: trains the seed's dense or conv autoencoder with Keras
(TensorFlow backend) on an MNIST-format folder and prints one JSON line shaped like `trainer bench`'s.

A port of trainer/src/model.rs and trainer/src/recipe.rs (the seed recipe):
  dense  784→512 ELU→128 ELU→10 linear→128 ELU→512 ELU→784 sigmoid, MSE, Adam(1e-3), batch 1024
  conv   Conv32 ReLU, MaxPool2, Conv32 ReLU, MaxPool2, Conv32 ReLU, Up2, Conv32 ReLU, Up2,
         Conv1 sigmoid (3×3, "same"), binary cross-entropy, Adadelta(lr 1.0), batch 256, trained on
         clip(x + 0.5·N(0,1), 0, 1) against clean x; validated on noisy test images vs clean ones.
Glorot-uniform weights and zero biases (the Keras defaults, and what our layers draw).
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the output
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

NOISE_SIGMA = 0.5


def read_images(path):
    """An IDX images file (.gz) as float32 in [0, 1], shape (count, 28, 28); same scaling as ours."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051 or (rows, cols) != (28, 28):
        sys.exit(f"{path}: not an IDX file of 28×28 images (magic {magic}, {rows}×{cols})")
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16, count=count * rows * cols)
    return (pixels.reshape(count, rows, cols) / np.float32(255.0)).astype(np.float32)


def dense_model():
    x = inputs = keras.Input((784,))
    for width in (512, 128):
        x = layers.Dense(width, activation="elu")(x)
    x = layers.Dense(10)(x)  # the linear bottleneck
    for width in (128, 512):
        x = layers.Dense(width, activation="elu")(x)
    model = keras.Model(inputs, layers.Dense(784, activation="sigmoid")(x))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


def conv_model():
    def conv(x, filters=32, activation="relu"):
        return layers.Conv2D(filters, 3, activation=activation, padding="same")(x)

    x = inputs = keras.Input((28, 28, 1))
    x = layers.MaxPooling2D(2, padding="same")(conv(x))  # 28→14
    x = layers.MaxPooling2D(2, padding="same")(conv(x))  # 14→7
    x = layers.UpSampling2D(2)(conv(x))  # 7→14
    x = layers.UpSampling2D(2)(conv(x))  # 14→28
    model = keras.Model(inputs, conv(x, 1, "sigmoid"))
    # Keras 3's Adadelta defaults to lr 0.001; the seed (Keras 2) and our recipe use 1.0.
    model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7),
                  loss="binary_crossentropy")
    return model


def noisy(x, rng):
    """The seed's Gaussian noise, clipped to [0, 1]."""
    return np.clip(x + NOISE_SIGMA * rng.standard_normal(x.shape, dtype=np.float32), 0.0, 1.0)


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, validation included, as `trainer bench` measures it, and the CPU time
    of all the process's threads meanwhile."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        self.cpu_seconds.append(time.process_time() - self.cpu_started)

    def on_train_begin(self, logs=None):
        self.seconds = []
        self.cpu_seconds = []


def steady(per_epoch):
    """The median of the epochs after the first, as `trainer bench` takes it."""
    return statistics.median(per_epoch[1:]) if len(per_epoch) > 1 else per_epoch[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["dense", "conv"])
    parser.add_argument("--data", required=True, metavar="DIR", help="folder with the IDX .gz files")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to time; the first is reported apart")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    train = read_images(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    test = read_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    if args.model == "dense":
        model, batch = dense_model(), 1024
        train, test = train.reshape(-1, 784), test.reshape(-1, 784)
        train_in, test_in = train, test
    else:
        model, batch = conv_model(), 256
        train, test = train[..., None], test[..., None]
        # As the seed does: noise drawn once before training (ours draws it afresh at every step).
        rng = np.random.default_rng(args.seed)
        train_in, test_in = noisy(train, rng), noisy(test, rng)

    timer = EpochTimer()
    history = model.fit(train_in, train, epochs=args.epochs, batch_size=batch, shuffle=True,
                        validation_data=(test_in, test), callbacks=[timer], verbose=2)
    seconds = timer.seconds
    print(json.dumps({
        "model": args.model,
        "data": os.path.basename(os.path.normpath(args.data)),
        "train_images": len(train),
        "batch": batch,
        "epochs_timed": len(seconds),
        "first_epoch_s": seconds[0],
        "seconds_per_epoch": steady(seconds),
        "cpu_seconds_per_epoch": steady(timer.cpu_seconds),
        "final_val_loss": history.history["val_loss"][-1],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
