"""Knowledge distillation: a small student learns from a teacher's softened outputs.

Loss = alpha * CE(hard labels, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T), where
``_T`` is a softmax of the PRE-softmax logits divided by T (Hinton et al.); ``alpha`` weighs the
hard labels. Both logits are read below the final softmax: the student's from its ``logits``
layer (every zoo classifier ends Dense "logits" + Softmax), the teacher's from the input of its
final Softmax layer when it has one (see :func:`teacher_logits`). Only a teacher whose softmax is
fused into its last layer falls back to log-probabilities, which equal the logits up to a
per-sample constant except where float32 probabilities underflow. The same student is also
trained without a teacher (same seed, epochs, augmentation, early stopping) so the report says
whether distillation helped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.data.datasets import load_dataset
from tinykit.data.features import FeatureConfig, write_json
from tinykit.errors import TrainingError
from tinykit.train.artifacts import check_inputs_match, load_keras, write_sidecars
from tinykit.train.trainer import TrainConfig, compile_model, evaluate, fit, set_seed


def kd_loss(num_classes: int, temperature: float, alpha: float):
    """Keras loss over y_true = [one-hot | teacher soft targets] and student logits."""
    import keras
    from keras import ops

    def loss(y_true, logits):
        hard, soft = y_true[:, :num_classes], y_true[:, num_classes:]
        ce = keras.losses.categorical_crossentropy(hard, ops.softmax(logits))
        log_s = ops.log_softmax(logits / temperature)
        kl = ops.sum(soft * (ops.log(soft + 1e-8) - log_s), axis=-1)
        return alpha * ce + (1 - alpha) * temperature**2 * kl

    return loss


def soft_targets(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) in float64 (no underflow at large logit gaps), returned as float32."""
    z = np.asarray(logits, np.float64) / temperature
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def teacher_logits(teacher):
    """A function x -> the teacher's pre-softmax logits (inference mode: no dropout, BN frozen)."""
    import keras

    last = teacher.layers[-1]
    if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and last.get_config().get("activation") == "softmax"):
        sub = keras.Model(teacher.inputs, last.input)
        return lambda x: sub.predict(x, verbose=0, batch_size=256)

    def from_probs(x: np.ndarray) -> np.ndarray:
        probs = teacher.predict(x, verbose=0, batch_size=256).astype(np.float64)
        return np.log(np.clip(probs, 1e-300, 1.0))

    return from_probs


def _student(name: str, ds, width: float, seed: int):
    from tinykit.train.zoo import build_model

    set_seed(seed)
    return build_model(name, ds.input_shape, ds.num_classes, width)


def distill(teacher_path: Path, student_name: str, width: float, data: Path, output: Path,
            cfg: TrainConfig, temperature: float = 4.0, alpha: float = 0.3, dataset=None) -> dict:
    """Train the student with and without the teacher; save the distilled one; return accuracies."""
    import keras

    if temperature <= 0 or not 0 <= alpha <= 1:
        raise TrainingError("temperature must be > 0 and alpha in [0, 1]")
    output = Path(output)
    if output.suffix != ".keras":
        raise TrainingError(f"output {output} must end in .keras")
    ds = dataset or load_dataset(data, FeatureConfig.load(Path(teacher_path)))
    if not ds.labels:
        raise TrainingError("distillation needs a labelled (classification) data set")
    teacher = load_keras(teacher_path)
    check_inputs_match(teacher, ds, teacher_path, data)
    if tuple(teacher.output_shape[1:]) != (ds.num_classes,):
        raise TrainingError(f"teacher outputs {teacher.output_shape[1:]} but the data has {ds.num_classes} classes")
    n = ds.num_classes
    onehot = np.eye(n, dtype=np.float32)[ds.y["train"]]
    teacher_z = teacher_logits(teacher)

    def targets(x: np.ndarray) -> np.ndarray:
        return np.concatenate([onehot, soft_targets(teacher_z(x), temperature)], axis=1)

    student = _student(student_name, ds, width, cfg.seed)
    logits_model = keras.Model(student.inputs, student.get_layer("logits").output)
    logits_model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=kd_loss(n, temperature, alpha))
    fit(logits_model, ds, cfg, targets=targets, eval_model=student)
    baseline = _student(student_name, ds, width, cfg.seed)
    compile_model(baseline, ds, cfg.learning_rate)
    fit(baseline, ds, cfg)
    result = {"teacher_accuracy": evaluate(teacher, ds)["accuracy"],
              "student_accuracy": evaluate(student, ds)["accuracy"],
              "baseline_accuracy": evaluate(baseline, ds)["accuracy"],
              "student_params": int(student.count_params()), "teacher_params": int(teacher.count_params()),
              "temperature": temperature, "alpha": alpha, "width": width, "student_model": student_name}
    output.parent.mkdir(parents=True, exist_ok=True)
    student.save(output)
    write_sidecars(output, ds.labels, ds.feature_config)
    write_json(output.with_suffix(".distill.json"), result)
    return result
