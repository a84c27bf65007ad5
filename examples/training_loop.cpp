// SPDX-License-Identifier: Apache-2.0
// A training loop that checkpoints through ckpt::manager, "crashes", and resumes from the latest
// checkpoint: the directory looks like one tf.train.CheckpointManager keeps (ckpt-N.index,
// ckpt-N.data-00000-of-00001 and a `checkpoint` file), so TensorFlow can read it too.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ckpt/ckpt.hpp>
#include <ckpt/formats/tf_checkpoint.hpp>
#include <ckpt/manager.hpp>

// Fits y = 3x + 2 with plain SGD on a fixed batch.
struct Optimizer {
  float learning_rate = 0.05f;
  std::int64_t iterations = 0;
};

struct Regression {
  ckpt::tensor<float> w;  // [1]
  float b = 0;
  Optimizer optimizer;
};

float train_step(Regression& model) {
  float grad_w = 0, grad_b = 0, loss = 0;
  for (int i = 0; i < 8; ++i) {
    const float x = 0.25f * float(i), y = 3 * x + 2;
    const float err = model.w[0] * x + model.b - y;
    loss += err * err / 8;
    grad_w += 2 * err * x / 8;
    grad_b += 2 * err / 8;
  }
  model.w[0] -= model.optimizer.learning_rate * grad_w;
  model.b -= model.optimizer.learning_rate * grad_b;
  ++model.optimizer.iterations;
  return loss;
}

int main() {
  const std::filesystem::path dir = "training_loop_checkpoints";
  std::filesystem::remove_all(dir);
  // Save every 10 steps, keep the newest 3.
  const ckpt::manager_options options{.max_to_keep = 3, .checkpoint_interval = 10};

  Regression before_crash;
  {
    Regression model{ckpt::tensor<float>({1}), 0, {}};
    ckpt::manager manager{dir, options};
    if (manager.restore_latest(model)) return std::puts("unexpected checkpoint"), 1;
    // A checkpoint numbered N holds the model after N steps.
    for (std::int64_t step = 0; step < 45; ++step) {
      if (auto saved = manager.save(model, step))
        std::printf("step %2lld  saved %s\n", static_cast<long long>(step),
                    saved->string().c_str());
      const float loss = train_step(model);
      if (step % 10 == 0)
        std::printf("step %2lld  loss %.5f\n", static_cast<long long>(step), loss);
    }
    before_crash = model;  // steps 40..44 were never saved: they are lost in the "crash"
  }

  // A new process would start here.
  Regression model{ckpt::tensor<float>({1}), 0, {}};
  ckpt::manager manager{dir, options};
  if (!manager.restore_latest(model)) return std::puts("nothing to resume from"), 1;
  std::printf("resumed from %s at iteration %lld (w %.4f, b %.4f)\n",
              ckpt::latest_checkpoint(dir)->string().c_str(),
              static_cast<long long>(model.optimizer.iterations), model.w[0], model.b);
  if (model.optimizer.iterations != 40) return std::puts("resumed at the wrong step"), 1;
  if (manager.checkpoints().size() != 3) return std::puts("max_to_keep not applied"), 1;

  // Replaying steps 40..44 from the checkpoint gives exactly the values before the crash.
  Regression replay = model;
  for (int i = 0; i < 5; ++i) train_step(replay);
  if (replay.w[0] != before_crash.w[0] || replay.b != before_crash.b)
    return std::puts("replay differs from the run before the crash"), 1;

  float loss = 0;
  for (std::int64_t step = model.optimizer.iterations; step < 400; ++step) {
    manager.save(model, step);
    loss = train_step(model);
  }
  std::printf("step 400  loss %.6f  w %.4f  b %.4f  latest %s\n", loss, model.w[0], model.b,
              manager.latest()->string().c_str());
  if (!(std::fabs(model.w[0] - 3) < 0.05f && std::fabs(model.b - 2) < 0.05f))
    return std::puts("did not converge"), 1;
  std::filesystem::remove_all(dir);
  return 0;
}
