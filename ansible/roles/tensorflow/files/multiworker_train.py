#!/usr/bin/env python3
"""A tiny Keras model trained with tf.distribute.MultiWorkerMirroredStrategy on every worker of
TF_CONFIG (the environment variable, else tf_config.json beside the config path): synthetic data, so
that no node needs the network. All workers must run it at the same time; each prints one line
`michman-tf worker=<index> of <n> loss=<final loss>` when training finished.

  TF_CONFIG="$(cat /opt/tensorflow/tf_config.json)" /opt/tensorflow/venv/bin/python multiworker_train.py [epochs]
"""
import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
if 'TF_CONFIG' not in os.environ:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tf_config.json')) as f:
        os.environ['TF_CONFIG'] = f.read()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

config = json.loads(os.environ['TF_CONFIG'])
index = config['task']['index']
workers = len(config['cluster']['worker'])
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3

strategy = tf.distribute.MultiWorkerMirroredStrategy()
global_batch = 16 * strategy.num_replicas_in_sync
rng = np.random.default_rng(42)
x = rng.normal(size=(256, 8)).astype('float32')
y = (x @ rng.normal(size=(8, 1)).astype('float32')).astype('float32')
steps = len(x) // global_batch
dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(global_batch)
# A training loop of our own (strategy.run, gradients all-reduced across the workers): Keras 3's
# model.fit does not take MultiWorkerMirroredStrategy's distributed batches.
batches = iter(strategy.experimental_distribute_dataset(dataset))

with strategy.scope():
    model = tf.keras.Sequential([tf.keras.Input(shape=(8,)), tf.keras.layers.Dense(16, activation='relu'), tf.keras.layers.Dense(1)])
    optimizer = tf.keras.optimizers.SGD(0.01)


@tf.function
def train_step(iterator):
    def replica_step(features, labels):
        with tf.GradientTape() as tape:
            per_example = tf.reduce_mean(tf.square(model(features, training=True) - labels), axis=-1)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_step, args=next(iterator)), axis=None)


loss = float('nan')
for _ in range(epochs):
    for _ in range(steps):
        loss = float(train_step(batches))
print(f"michman-tf worker={index} of {workers} replicas={strategy.num_replicas_in_sync} loss={loss:.4f}", flush=True)
