"""Train PPO on ``netgym/nqos_split-paper-v0`` with the batched vector env; plot and score it.

Needs the optional extra ``rl`` (``pip install -e '.[rl]'``: jax on CPU and optax, ~90 MB of
wheels). PPO is written here in ~150 lines of jax rather than taken from stable-baselines3 or
sbx: both import torch, and the only torch PyPI offers for Linux x86-64 pulls the CUDA
libraries (~2.7 GB of wheels); see the README's "Learning agents"::

    python examples/train_ppo.py --out results/ppo_nqos_split_paper   # 120,000 steps, ~5 min

What the agent sees and does:

- observation: the ``(3, 4)`` Box of Mbps (LTE capacity, Wi-Fi capacity, delivered rate per
  user), flattened and normalized by running mean and standard deviation;
- action: one value per user, a Gaussian sample clipped to ``[-1, 1]`` and rescaled to the
  user's Wi-Fi share ``w = (a + 1) / 2``, sent as the split weights ``[w, 1 − w]``
  (Wi-Fi, LTE), the NetworkGym paper's nqos_split action;
- reward: the scenario's ``normalized_utility`` per step, unscaled.

Training runs ``--envs`` sessions in lock step (seeds from 1000 on, episodes of
``--episode-steps``); the held-out evaluation runs the mean action on the seeds
``netgym baselines`` uses for this scenario (0-9, one episode of 300 steps each) beside
``system_default``, ``random`` and ``all_wifi`` run by ``netgym baselines``' own code.

Writes ``OUT.json`` (the figures) and ``OUT.png`` (mean reward per step of every rollout
against environment steps, the baselines as horizontal lines) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import netgym_client  # noqa: F401 (registers the netgym/ ids)

SCENARIO = "nqos_split-paper"
ENV_ID = "netgym/nqos_split-paper-v0"
#: The baselines drawn and scored beside the agent.
BASELINES = ("system_default", "random", "all_wifi")
#: Training seeds start here, away from the held-out ones (0-9).
TRAIN_SEED = 1000


def make_vec(num_envs: int, steps_per_episode: int) -> gym.vector.VectorEnv[Any, Any, Any]:
    """The scenario's native vector env with episodes of ``steps_per_episode`` steps."""
    config = {"env_config": {"steps_per_episode": steps_per_episode, "episodes_per_session": 1}}
    return gym.make_vec(
        ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", config=config
    )


def split_weights(action: np.ndarray) -> np.ndarray:
    """``(B, N)`` values in R → ``(B, N, 2)`` weights ``[w, 1 − w]``, ``w = (clip(a) + 1) / 2``."""
    share = (np.clip(action, -1.0, 1.0) + 1.0) / 2.0
    return np.stack([share, 1.0 - share], axis=-1).astype(np.float32)


class RunningNorm:
    """Running mean and variance of the observations (Chan's parallel update)."""

    def __init__(self, size: int) -> None:
        self.mean = np.zeros(size)
        self.var = np.ones(size)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        mean, var, n = batch.mean(0), batch.var(0), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.var, self.count = m2 / total, total

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        out = (obs - self.mean) / np.sqrt(self.var + 1e-8)
        return np.clip(out, -10.0, 10.0).astype(np.float32)


def flat(obs: np.ndarray) -> np.ndarray:
    """``(B, 3, N)`` observations → ``(B, 3·N)``."""
    return np.asarray(obs, dtype=np.float64).reshape(obs.shape[0], -1)


class PPO:
    """PPO-clip with GAE: a tanh MLP actor (state-independent log-std) and critic, in jax."""

    def __init__(self, obs_size: int, act_size: int, seed: int, **hp: Any) -> None:
        import jax  # noqa: PLC0415 (optional extra)
        import jax.numpy as jnp  # noqa: PLC0415
        import optax  # noqa: PLC0415

        self.hp = {
            "lr": 3e-4,
            "gamma": 0.95,
            "lam": 0.9,
            "clip": 0.2,
            "epochs": 10,
            "minibatch": 256,
            "hidden": 64,
            "vf_coef": 0.5,
            "ent_coef": 0.0,
            "init_log_std": -0.5,
            **hp,
        }
        self.jax, self.jnp = jax, jnp
        key = jax.random.PRNGKey(seed)
        self.key, k_pi, k_v = jax.random.split(key, 3)
        h = int(self.hp["hidden"])
        self.params = {
            "pi": self._mlp(k_pi, (obs_size, h, h, act_size), last_scale=0.01),
            "v": self._mlp(k_v, (obs_size, h, h, 1), last_scale=1.0),
            "log_std": jnp.full((act_size,), float(self.hp["init_log_std"])),
        }
        self.opt = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(self.hp["lr"]))
        self.opt_state = self.opt.init(self.params)

        def forward(layers: list[dict[str, Any]], x: Any) -> Any:
            for layer in layers[:-1]:
                x = jnp.tanh(x @ layer["w"] + layer["b"])
            return x @ layers[-1]["w"] + layers[-1]["b"]

        def log_prob(params: dict[str, Any], obs: Any, act: Any) -> Any:
            mean = forward(params["pi"], obs)
            log_std = params["log_std"]
            z = (act - mean) / jnp.exp(log_std)
            return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)

        def loss(params: dict[str, Any], batch: dict[str, Any]) -> Any:
            adv = batch["adv"]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            ratio = jnp.exp(log_prob(params, batch["obs"], batch["act"]) - batch["logp"])
            clip = float(self.hp["clip"])
            pg = -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip, 1 + clip) * adv))
            value = forward(params["v"], batch["obs"])[:, 0]
            vf = jnp.mean((value - batch["ret"]) ** 2)
            entropy = jnp.sum(params["log_std"])
            return pg + self.hp["vf_coef"] * vf - self.hp["ent_coef"] * entropy

        def update(params: Any, opt_state: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
            grads = jax.grad(loss)(params, batch)
            updates, opt_state = self.opt.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        self._update = jax.jit(update)
        self._mean = jax.jit(lambda params, obs: forward(params["pi"], obs))
        self._value = jax.jit(lambda params, obs: forward(params["v"], obs)[:, 0])
        self._log_prob = jax.jit(log_prob)

    def _mlp(self, key: Any, sizes: Sequence[int], last_scale: float) -> list[dict[str, Any]]:
        jax, jnp = self.jax, self.jnp
        layers = []
        keys = jax.random.split(key, len(sizes) - 1)
        for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
            scale = last_scale if i == len(sizes) - 2 else float(np.sqrt(2.0))
            w = jax.nn.initializers.orthogonal(scale)(k, (n_in, n_out))
            layers.append({"w": w, "b": jnp.zeros(n_out)})
        return layers

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A sampled action per row and its log-probability."""
        self.key, sub = self.jax.random.split(self.key)
        mean = self._mean(self.params, obs)
        std = self.jnp.exp(self.params["log_std"])
        act = mean + std * self.jax.random.normal(sub, mean.shape)
        return np.asarray(act), np.asarray(self._log_prob(self.params, obs, act))

    def mean_action(self, obs: np.ndarray) -> np.ndarray:
        """The policy's mean (the deterministic action)."""
        return np.asarray(self._mean(self.params, obs))

    def value(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(self._value(self.params, obs))

    def learn(self, batch: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """``epochs`` passes of shuffled minibatches over one rollout."""
        size = batch["obs"].shape[0]
        mb = min(int(self.hp["minibatch"]), size)
        for _ in range(int(self.hp["epochs"])):
            order = rng.permutation(size)
            for start in range(0, size - mb + 1, mb):
                idx = order[start : start + mb]
                part = {k: self.jnp.asarray(v[idx]) for k, v in batch.items()}
                self.params, self.opt_state = self._update(self.params, self.opt_state, part)


def train(
    steps: int,
    *,
    envs: int = 8,
    rollout: int = 64,
    episode_steps: int = 300,
    seed: int = 0,
    **hp: Any,
) -> tuple[PPO, RunningNorm, list[dict[str, float]], dict[str, Any]]:
    """Train for ``steps`` environment steps; the agent, its normalizer, the curve, the budget.

    Each rollout is ``rollout`` steps of each of the ``envs`` sessions. The curve has one point
    per rollout: the environment steps so far and the rollout's mean reward per step (the
    transitions an autoreset step stands for are left out).
    """
    vec = make_vec(envs, episode_steps)
    rng = np.random.default_rng(seed)
    try:
        obs_raw, _ = vec.reset(seed=TRAIN_SEED + seed * envs)
        size = flat(obs_raw).shape[1]
        agent = PPO(size, vec.single_action_space.shape[0], seed, **hp)
        norm = RunningNorm(size)
        norm.update(flat(obs_raw))
        gamma, lam = float(agent.hp["gamma"]), float(agent.hp["lam"])
        restart = np.zeros(envs, dtype=bool)  # this step only resets the sub-env
        curve: list[dict[str, float]] = []
        done_steps, started = 0, time.perf_counter()
        while done_steps < steps:
            keys = ("obs", "act", "logp", "rew", "next", "end", "cut", "valid")
            buf: dict[str, list[np.ndarray]] = {k: [] for k in keys}
            for _ in range(rollout):
                obs = norm(flat(obs_raw))
                act, logp = agent.act(obs)
                obs_raw, rew, term, trunc, _ = vec.step(split_weights(act))
                buf["obs"].append(obs)
                buf["act"].append(act)
                buf["logp"].append(logp)
                buf["rew"].append(np.asarray(rew, dtype=np.float64))
                buf["next"].append(norm(flat(obs_raw)))
                buf["end"].append(np.asarray(term, dtype=bool))
                buf["cut"].append(np.asarray(term, dtype=bool) | np.asarray(trunc, dtype=bool))
                buf["valid"].append(~restart)
                restart = buf["cut"][-1].copy()
                norm.update(flat(obs_raw))
            done_steps += rollout * envs
            arr = {k: np.stack(v) for k, v in buf.items()}  # (T, B, ...)
            t_len = arr["rew"].shape[0]
            values = agent.value(arr["obs"].reshape(t_len * envs, -1)).reshape(t_len, envs)
            nexts = agent.value(arr["next"].reshape(t_len * envs, -1)).reshape(t_len, envs)
            adv = np.zeros((t_len, envs))
            running = np.zeros(envs)
            for t in reversed(range(t_len)):
                delta = arr["rew"][t] + gamma * nexts[t] * ~arr["end"][t] - values[t]
                running = delta + gamma * lam * running * ~arr["cut"][t]
                running = np.where(arr["valid"][t], running, 0.0)
                adv[t] = running
            valid = arr["valid"].reshape(-1)
            batch = {
                "obs": arr["obs"].reshape(t_len * envs, -1)[valid],
                "act": arr["act"].reshape(t_len * envs, -1)[valid],
                "logp": arr["logp"].reshape(-1)[valid],
                "adv": adv.reshape(-1)[valid].astype(np.float32),
                "ret": (adv + values).reshape(-1)[valid].astype(np.float32),
            }
            agent.learn(batch, rng)
            mean_reward = float(arr["rew"].reshape(-1)[valid].mean())
            curve.append({"steps": done_steps, "mean_reward_per_step": round(mean_reward, 4)})
            print(f"steps {done_steps:7d}  reward/step {mean_reward:+.3f}", file=sys.stderr)
        wall_s = time.perf_counter() - started
    finally:
        vec.close()
    budget = {
        "env_steps": done_steps,
        "num_envs": envs,
        "rollout_steps_per_env": rollout,
        "episode_steps": episode_steps,
        "wall_s": round(wall_s, 1),
        "steps_per_s": round(done_steps / wall_s, 1),
    }
    return agent, norm, curve, budget


def evaluate(agent: Any, norm: Any, seeds: Sequence[int], steps: int) -> list[float]:
    """``agent.mean_action(norm(obs))``'s mean reward per step, one episode of ``steps`` a seed."""
    vec = make_vec(len(seeds), steps)
    try:
        obs_raw, _ = vec.reset(seed=list(seeds))
        totals = np.zeros(len(seeds))
        for _ in range(steps):
            act = agent.mean_action(norm(flat(obs_raw)))
            obs_raw, rew, _, _, _ = vec.step(split_weights(act))
            totals += rew
    finally:
        vec.close()
    return [float(t / steps) for t in totals]


def baseline_scores(seeds: Sequence[int], steps: int) -> dict[str, list[float]]:
    """Each baseline's mean reward per step per seed, by ``netgym baselines``' own code."""
    from netgym_client.cli.benchmark import episode_means  # noqa: PLC0415
    from netgym_client.scenarios import SCENARIOS  # noqa: PLC0415

    scenario = SCENARIOS[SCENARIO]
    return {
        name: [
            episode_means(scenario, name, s, episodes=1, steps_per_episode=steps)[0] for s in seeds
        ]
        for name in BASELINES
    }


def summary(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(values)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {
        "mean": round(float(arr.mean()), 4),
        "std": round(std, 4),
        "per_seed": [round(v, 4) for v in values],
    }


def plot(
    path: Path, curve: Sequence[dict[str, float]], lines: dict[str, float], title: str
) -> None:
    """The learning curve with each baseline's held-out score as a horizontal line."""
    import matplotlib  # noqa: PLC0415 (the plot extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(
        [p["steps"] for p in curve],
        [p["mean_reward_per_step"] for p in curve],
        label="PPO (training rollouts)",
        color="black",
    )
    for (name, value), style in zip(lines.items(), ("--", ":", "-.", "-"), strict=False):
        ax.axhline(value, linestyle=style, label=f"{name} (held-out {value:+.2f})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean reward per step")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, evaluate on the held-out seeds, score the baselines, write OUT.json and OUT.png."""
    hp = {"lr": args.lr}
    agent, norm, curve, budget = train(
        args.steps,
        envs=args.envs,
        rollout=args.rollout,
        episode_steps=args.episode_steps,
        seed=args.seed,
        **hp,
    )
    seeds = list(range(args.eval_seeds))
    started = time.perf_counter()
    ppo = evaluate(agent, norm, seeds, args.eval_steps)
    baselines = baseline_scores(seeds, args.eval_steps) if args.baselines else {}
    scores = {"ppo": summary(ppo), **{k: summary(v) for k, v in baselines.items()}}
    result = {
        "scenario": ENV_ID,
        "algorithm": "PPO (examples/train_ppo.py, jax)",
        "seed": args.seed,
        "budget": budget,
        "hyperparameters": {k: v for k, v in agent.hp.items()},
        "curve": curve,
        "eval": {
            "seeds": seeds,
            "steps_per_episode": args.eval_steps,
            "wall_s": round(time.perf_counter() - started, 1),
            "scores": scores,
        },
        "beats": {k: scores["ppo"]["mean"] > scores[k]["mean"] for k in baselines},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = {k: scores[k]["mean"] for k in baselines}
    plot(
        out.with_suffix(".png"),
        curve,
        lines,
        f"PPO on {ENV_ID}, {budget['env_steps']} steps ({budget['wall_s']:.0f} s)",
    )
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300_000, help="environment steps to train")
    p.add_argument("--envs", type=int, default=8, help="sessions stepped together")
    p.add_argument("--rollout", type=int, default=64, help="steps per session per rollout")
    p.add_argument("--episode-steps", type=int, default=300, help="training episode length")
    p.add_argument("--lr", type=float, default=3e-4, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0, help="the run's seed")
    p.add_argument("--eval-seeds", type=int, default=10, help="held-out seeds 0..K-1")
    p.add_argument("--eval-steps", type=int, default=300, help="steps per held-out episode")
    p.add_argument(
        "--no-baselines", dest="baselines", action="store_false", help="do not score the baselines"
    )
    p.add_argument(
        "--out", default="results/ppo_nqos_split_paper", help="writes OUT.json and OUT.png"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        import jax  # noqa: F401, PLC0415
        import optax  # noqa: F401, PLC0415
    except ImportError:
        print(
            "train_ppo: needs jax and optax, the optional extra 'rl': "
            "in a clone of netgym, pip install -e '.[rl]'",
            file=sys.stderr,
        )
        return 1
    result = run(args)
    print(
        json.dumps(
            {
                "budget": result["budget"],
                "scores": {k: v["mean"] for k, v in result["eval"]["scores"].items()},
                "beats": result["beats"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
