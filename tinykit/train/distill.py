"""Knowledge distillation: a small student learns from a teacher's softened outputs.

Loss = alpha * CE(hard labels, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T), where
``_T`` is a softmax at temperature T (Hinton et al.). The teacher's logits are taken as log of its
probabilities (equivalent up to a constant under softmax), so any classifier can teach. The same
student is also trained without a teacher (same seed, epochs, augmentation) so the report says
whether distillation helped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.data.datasets import load_dataset
from tinykit.data.features import FeatureConfig, write_json
from tinykit.errors import TrainingError
from tinykit.train.artifacts import load_keras, write_sidecars
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
    if tuple(teacher.output_shape[1:]) != (ds.num_classes,):
        raise TrainingError(f"teacher outputs {teacher.output_shape[1:]} but the data has {ds.num_classes} classes")
    n = ds.num_classes
    onehot = np.eye(n, dtype=np.float32)[ds.y["train"]]

    def targets(x: np.ndarray) -> np.ndarray:
        logits = np.log(np.clip(teacher.predict(x, verbose=0, batch_size=256), 1e-8, 1.0))
        z = logits / temperature
        soft = np.exp(z - z.max(-1, keepdims=True))
        return np.concatenate([onehot, soft / soft.sum(-1, keepdims=True)], axis=1)

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
