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
rng = np.random.default_rng(42)
x = rng.normal(size=(256, 8)).astype('float32')
y = (x @ rng.normal(size=(8, 1)).astype('float32')).astype('float32')
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16 * workers).with_options(options)

with strategy.scope():
    model = tf.keras.Sequential([tf.keras.Input(shape=(8,)), tf.keras.layers.Dense(16, activation='relu'), tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss='mse')

history = model.fit(dataset, epochs=epochs, verbose=0)
print(f"michman-tf worker={index} of {workers} replicas={strategy.num_replicas_in_sync} loss={history.history['loss'][-1]:.4f}", flush=True)
