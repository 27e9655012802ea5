"""Offline RL on netgym datasets: TD3+BC on Minari datasets of baseline agents, scored online.

The NetworkGym paper's offline experiment, in minutes: ``netgym dataset`` collects one Minari
dataset per behaviour policy on ``netgym/nqos_split-paper-v0``'s configuration (training seeds
from 100 on), TD3+BC (Fujimoto & Gu 2021) learns from their union without touching the
network, and the learned policy then runs online on the held-out seeds 0-9 (one episode of
300 steps, as ``netgym baselines``) beside the behaviour policies themselves.

TD3+BC is implemented here in jax (~100 lines, the paper's algorithm and defaults: twin
critics, target policy smoothing, delayed actor updates, ``α = 2.5``, normalized
observations); d3rlpy would need torch, and the only torch PyPI offers for Linux x86-64 pulls
the CUDA libraries. Needs the extras ``rl`` and ``datasets`` (``pip install -e '.[rl]'``)::

    python examples/offline_td3bc.py --out results/td3bc_nqos_split_paper

Actions: a dataset stores the split weights ``(4, 2)`` (Wi-Fi, LTE) the server applied; the
learner's action is the Wi-Fi share per user mapped to ``[-1, 1]`` (``a = 2w − 1``), the
parametrization of ``examples/train_ppo.py``. Writes ``OUT.json`` and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_ppo import ENV_ID, SCENARIO, evaluate, flat, summary

#: The behaviour policies whose datasets are pooled.
BEHAVIOUR = ("system_default", "utility_logistic", "random")


def build_datasets(root: Path, agents: Sequence[str], seeds: str, steps: int) -> list[str]:
    """Run ``netgym dataset`` once per agent into the Minari root ``root``; the dataset ids."""
    from netgym_client.scenarios import SCENARIOS  # noqa: PLC0415

    config = root / "nqos_split-paper.json"
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(SCENARIOS[SCENARIO].config()))
    env = {**os.environ, "MINARI_DATASETS_PATH": str(root)}
    ids = []
    for agent in agents:
        dataset_id = f"netgym/{SCENARIO}/{agent}-v0"
        ids.append(dataset_id)
        if (root / dataset_id).exists():
            continue
        cmd = [
            sys.executable,
            "-m",
            "netgym_client",
            "dataset",
            "--env",
            "nqos_split",
            "--config",
            str(config),
            "--agent",
            agent,
            "--seeds",
            seeds,
            "--steps",
            str(steps),
            "--out",
            dataset_id,
            "--json",
        ]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return ids


def load_transitions(
    root: Path, ids: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The pooled (obs, action, reward, next obs, terminal) of the datasets ``ids``, and each
    dataset's mean reward per step."""
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    import minari  # noqa: PLC0415 (the datasets extra)

    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "act", "rew", "next", "done")}
    per_dataset = {}
    for dataset_id in ids:
        dataset = minari.load_dataset(dataset_id)
        rewards = []
        for ep in dataset.iterate_episodes():
            obs = flat(np.asarray(ep.observations))
            share = np.asarray(ep.actions)[:, :, 0]  # the Wi-Fi column
            parts["obs"].append(obs[:-1])
            parts["next"].append(obs[1:])
            parts["act"].append((2.0 * share - 1.0).astype(np.float32))
            parts["rew"].append(np.asarray(ep.rewards, dtype=np.float32))
            parts["done"].append(np.asarray(ep.terminations, dtype=np.float32))
            rewards.append(float(np.mean(ep.rewards)))
        per_dataset[dataset_id] = round(float(np.mean(rewards)), 4)
    return {k: np.concatenate(v) for k, v in parts.items()}, per_dataset


class Norm:
    """Fixed normalization by the dataset's mean and standard deviation (TD3+BC's)."""

    def __init__(self, obs: np.ndarray) -> None:
        self.mean, self.std = obs.mean(0), obs.std(0) + 1e-3

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return ((obs - self.mean) / self.std).astype(np.float32)


class TD3BC:
    """TD3+BC: the actor maximizes ``λ·Q(s, π(s)) − (π(s) − a)²``, ``λ = α / mean|Q|``."""

    def __init__(self, obs_size: int, act_size: int, seed: int, **hp: Any) -> None:
        import jax  # noqa: PLC0415 (optional extra)
        import jax.numpy as jnp  # noqa: PLC0415
        import optax  # noqa: PLC0415

        self.hp = {
            "lr": 3e-4,
            "gamma": 0.99,
            "tau": 0.005,
            "alpha": 2.5,
            "noise": 0.2,
            "noise_clip": 0.5,
            "policy_delay": 2,
            "hidden": 256,
            "batch": 256,
            **hp,
        }
        h = int(self.hp["hidden"])
        key = jax.random.PRNGKey(seed)
        self.key, ka, k1, k2 = jax.random.split(key, 4)

        def mlp(k: Any, sizes: Sequence[int]) -> list[dict[str, Any]]:
            keys = jax.random.split(k, len(sizes) - 1)
            init = jax.nn.initializers.lecun_normal()
            return [
                {"w": init(kk, (a, b)), "b": jnp.zeros(b)}
                for kk, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
            ]

        def forward(layers: list[dict[str, Any]], x: Any) -> Any:
            for layer in layers[:-1]:
                x = jax.nn.relu(x @ layer["w"] + layer["b"])
            return x @ layers[-1]["w"] + layers[-1]["b"]

        def actor(p: Any, s: Any) -> Any:
            return jnp.tanh(forward(p, s))

        def critic(p: Any, s: Any, a: Any) -> Any:
            return forward(p, jnp.concatenate([s, a], axis=-1))[:, 0]

        actor_p = mlp(ka, (obs_size, h, h, act_size))
        critic_p = (
            mlp(k1, (obs_size + act_size, h, h, 1)),
            mlp(k2, (obs_size + act_size, h, h, 1)),
        )
        self.state = {
            "actor": actor_p,
            "critic": critic_p,
            "actor_t": actor_p,
            "critic_t": critic_p,
        }
        a_opt, c_opt = optax.adam(self.hp["lr"]), optax.adam(self.hp["lr"])
        self.opt = {"actor": a_opt.init(actor_p), "critic": c_opt.init(critic_p)}
        gamma, tau, alpha = self.hp["gamma"], self.hp["tau"], self.hp["alpha"]
        noise, noise_clip = self.hp["noise"], self.hp["noise_clip"]

        def critic_loss(cp: Any, st: Any, b: dict[str, Any], k: Any) -> Any:
            eps = jnp.clip(noise * jax.random.normal(k, b["act"].shape), -noise_clip, noise_clip)
            a2 = jnp.clip(actor(st["actor_t"], b["next"]) + eps, -1.0, 1.0)
            q_t = jnp.minimum(
                critic(st["critic_t"][0], b["next"], a2), critic(st["critic_t"][1], b["next"], a2)
            )
            target = jax.lax.stop_gradient(b["rew"] + gamma * (1.0 - b["done"]) * q_t)
            return sum(jnp.mean((critic(c, b["obs"], b["act"]) - target) ** 2) for c in cp)

        def actor_loss(ap: Any, cp: Any, b: dict[str, Any]) -> Any:
            pi = actor(ap, b["obs"])
            q = critic(cp[0], b["obs"], pi)
            lmbda = jax.lax.stop_gradient(alpha / jnp.mean(jnp.abs(q)))
            return -lmbda * jnp.mean(q) + jnp.mean((pi - b["act"]) ** 2)

        def soft(target: Any, online: Any) -> Any:
            return jax.tree_util.tree_map(lambda t, o: (1 - tau) * t + tau * o, target, online)

        def step(st: Any, opt: Any, b: dict[str, Any], k: Any, with_actor: bool) -> Any:
            grads = jax.grad(critic_loss)(st["critic"], st, b, k)
            upd, c_state = c_opt.update(grads, opt["critic"])
            st = {**st, "critic": optax.apply_updates(st["critic"], upd)}
            opt = {**opt, "critic": c_state}
            if with_actor:
                grads = jax.grad(actor_loss)(st["actor"], st["critic"], b)
                upd, a_state = a_opt.update(grads, opt["actor"])
                st = {**st, "actor": optax.apply_updates(st["actor"], upd)}
                opt = {**opt, "actor": a_state}
                st = {
                    **st,
                    "actor_t": soft(st["actor_t"], st["actor"]),
                    "critic_t": soft(st["critic_t"], st["critic"]),
                }
            return st, opt

        self.jax, self.jnp = jax, jnp
        self._step = jax.jit(step, static_argnums=4)
        self._act = jax.jit(actor)

    def train(self, data: dict[str, np.ndarray], steps: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        size = data["obs"].shape[0]
        for i in range(steps):
            idx = rng.integers(0, size, int(self.hp["batch"]))
            batch = {k: self.jnp.asarray(v[idx]) for k, v in data.items()}
            self.key, sub = self.jax.random.split(self.key)
            with_actor = (i + 1) % int(self.hp["policy_delay"]) == 0
            self.state, self.opt = self._step(self.state, self.opt, batch, sub, with_actor)

    def mean_action(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(self._act(self.state["actor"], obs))


def behaviour_scores(seeds: Sequence[int], steps: int, agents: Sequence[str]) -> dict[str, Any]:
    from netgym_client.cli.benchmark import episode_means  # noqa: PLC0415
    from netgym_client.scenarios import SCENARIOS  # noqa: PLC0415

    scenario = SCENARIOS[SCENARIO]
    return {
        name: summary(
            [
                episode_means(scenario, name, s, episodes=1, steps_per_episode=steps)[0]
                for s in seeds
            ]
        )
        for name in agents
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    root = Path(args.datasets) if args.datasets else Path(tempfile.mkdtemp(prefix="netgym-ds-"))
    started = time.perf_counter()
    ids = build_datasets(root, args.agents, args.seeds, args.steps)
    collect_s = time.perf_counter() - started
    data, per_dataset = load_transitions(root, ids)
    norm = Norm(data["obs"])
    data["obs"], data["next"] = norm(data["obs"]), norm(data["next"])
    started = time.perf_counter()
    learner = TD3BC(data["obs"].shape[1], data["act"].shape[1], args.seed)
    learner.train(data, args.updates, args.seed)
    train_s = time.perf_counter() - started

    seeds = list(range(args.eval_seeds))
    td3bc = evaluate(learner, norm, seeds, args.eval_steps)
    scores = {"td3bc": summary(td3bc)}
    if args.behaviour_scores:
        scores.update(behaviour_scores(seeds, args.eval_steps, args.agents))
    result = {
        "scenario": ENV_ID,
        "algorithm": "TD3+BC (examples/offline_td3bc.py, jax)",
        "datasets": {
            "ids": ids,
            "root": str(root),
            "transitions": int(data["obs"].shape[0]),
            "seeds": args.seeds,
            "steps_per_episode": args.steps,
            "mean_reward_per_step": per_dataset,
            "collect_s": round(collect_s, 1),
        },
        "training": {
            "updates": args.updates,
            "wall_s": round(train_s, 1),
            "hyperparameters": learner.hp,
        },
        "eval": {"seeds": seeds, "steps_per_episode": args.eval_steps, "scores": scores},
        "beats": {
            k: scores["td3bc"]["mean"] > v["mean"] for k, v in scores.items() if k != "td3bc"
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", nargs="+", default=list(BEHAVIOUR), help="behaviour policies")
    p.add_argument("--seeds", default="100-111", help="dataset seeds (netgym dataset --seeds)")
    p.add_argument("--steps", type=int, default=200, help="transitions per dataset episode")
    p.add_argument("--datasets", help="Minari root to build/reuse (default: a new temp dir)")
    p.add_argument("--updates", type=int, default=20_000, help="TD3+BC gradient steps")
    p.add_argument("--seed", type=int, default=0, help="the learner's seed")
    p.add_argument("--eval-seeds", type=int, default=10, help="held-out seeds 0..K-1")
    p.add_argument("--eval-steps", type=int, default=300, help="steps per held-out episode")
    p.add_argument(
        "--no-behaviour-scores",
        dest="behaviour_scores",
        action="store_false",
        help="do not run the behaviour policies online",
    )
    p.add_argument("--out", default="results/td3bc_nqos_split_paper", help="writes OUT.json")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        import jax  # noqa: F401, PLC0415
        import minari  # noqa: F401, PLC0415
    except ImportError:
        print(
            "offline_td3bc: needs jax, optax and minari, the extras 'rl' and 'datasets': "
            "in a clone of netgym, pip install -e '.[rl,datasets]'",
            file=sys.stderr,
        )
        return 1
    result = run(args)
    print(
        json.dumps(
            {
                "scores": {k: v["mean"] for k, v in result["eval"]["scores"].items()},
                "beats": result["beats"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
