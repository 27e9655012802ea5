"""Radio links: path loss, SNR, spectral efficiency and per-user capacity, per technology.

Equations (all vectorised over users × cells):

- Path loss (dB) ``PL = A + B·log10(d_3D / 1 m) + C·log10(f_c / 1 GHz)`` with the stated
  ``(A, B, C)`` per technology:

  * LTE: Friis free space ``32.44 + 20·log10(d) + 20·log10(fc)``, ns-3's ``LteHelper``
    default, which NetworkGym's scenario keeps (its log-distance setting is commented out):
    in fixtures/ns3 four users 31–114 m from the eNB each get the same 8.5 Mbit/s of a
    34 Mbit/s cell (the top CQI for all).
  * NR: 3GPP TR 38.901 V17 Table 7.4.1-1, UMa NLOS
    ``13.54 + 39.08·log10(d) + 20·log10(fc)`` (the ``-0.6 (h_UT - 1.5)`` term is 0 at the
    scenarios' 1.5 m user height, and the model is used for every distance, without the
    LOS/NLOS maximum, so that capacity is monotone in distance).
  * Wi-Fi: log-distance ``46.6777 + 30·log10(d)``, ns-3's ``YansWifiChannelHelper`` default
    (exponent 3, the free-space loss at 1 m and 5.15 GHz), which NetworkGym's scenario keeps.

- Optional log-normal shadowing: a seeded ``N(0, σ²)`` dB term per user and cell, fixed for
  the run (σ = 0 by default: the scenarios' configs have no shadowing key).
- ``SNR = P_tx − PL − (−174 dBm/Hz + 10·log10(B_noise) + NF)``: thermal noise over the
  channel, no inter-cell interference (Wi-Fi co-channel contention is modelled as shared
  airtime in :mod:`netgym_sim.model.scheduling` instead).
- NR links also lose ``extra_loss_db``: outdoor-to-indoor penetration and the rise of
  other cells' interference, which the thermal-noise budget leaves out (20 dB; the ns-3
  build measured here has no NR to calibrate against).
- Rates are **quantized** to the technology's modulation-and-coding table, as ns-3 reports
  them:

  * LTE and NR: the Shannon-gap efficiency ``log2(1 + SNR/Γ)``, with ``Γ = −ln(5·BER)/1.5``
    for BER = 5·10⁻⁵ (≈ 7.4 dB, the gap of ns-3's ``LteAmc``, Piro et al., "LTE-Sim", IEEE
    TVT 2011, after Goldsmith, *Wireless Communications*, 2005, §9.3), picks the highest CQI
    whose efficiency it reaches (LTE: TS 36.213 Table 7.2.3-1; NR: TS 38.214 Table
    5.2.2.1-3, 256-QAM); ``max_rate = B_data · η_overhead · SE(CQI)``.
  * Wi-Fi: the highest 802.11ac (VHT) MCS whose minimum SNR the link has, 20 MHz, one
    spatial stream, 800 ns GI: 6.5 … 86.7 Mbit/s (IEEE 802.11-2016 Table 21-30), and two
    higher levels ns-3 reaches, reported × 1.125 as ns-3 reports them; the SNR
    thresholds are the standard's minimum sensitivities (Table 21-25, −82 … −59 dBm) less
    the noise floor they assume (−101 dBm + 10 dB NF + 5 dB margin).

  Capacity is 0 below the lowest level (out of range). A farther user never gets a higher
  level (MODEL.md L2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netgym_sim.model.topology import FloatArray, IntArray, users_per_cell

__all__ = [
    "CONTENTION_CV",
    "FADE_PERIODS",
    "LTE_CQI_SE",
    "LTE_RB_HZ",
    "NR_CQI_SE",
    "PROBE_CHANCE",
    "PROBE_RATE_EDGES_MBPS",
    "PROBE_WEIGHTS",
    "VHT20_MIN_SNR_DB",
    "VHT20_RATE_MBPS",
    "WIFI_REPORT_FACTOR",
    "RadioProfile",
    "capacity_mbps",
    "contention_factor",
    "lte_profile",
    "nr_profile",
    "path_loss_db",
    "probe_levels",
    "snr_db",
    "spectral_efficiency",
    "wifi_profile",
]

#: Thermal noise density at 290 K, dBm/Hz.
THERMAL_NOISE_DBM_HZ = -174.0
#: SNR gap of ns-3's LteAmc: −ln(5 × 5e-5)/1.5, as a linear ratio and in dB.
SNR_GAP_LINEAR = -math.log(5.0 * 5e-5) / 1.5
SNR_GAP_DB = 10.0 * math.log10(SNR_GAP_LINEAR)
#: One LTE resource block is 12 subcarriers × 15 kHz (3GPP TS 36.211 §6.2.3), Hz.
LTE_RB_HZ = 180e3
#: Efficiency (bit/s/Hz) of CQI 1 … 15, 3GPP TS 36.213 Table 7.2.3-1 (QPSK … 64-QAM).
LTE_CQI_SE = (
    0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141,
    2.4063, 2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547,
)  # fmt: skip
#: Efficiency (bit/s/Hz) of CQI 1 … 15, 3GPP TS 38.214 Table 5.2.2.1-3 (QPSK … 256-QAM).
NR_CQI_SE = (
    0.1523, 0.3770, 0.8770, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223,
    3.9023, 4.5234, 5.1152, 5.5547, 6.2266, 6.9141, 7.4063,
)  # fmt: skip
#: Wi-Fi rate levels, Mbit/s: 802.11ac VHT MCS 0 … 9, 20 MHz, one spatial stream, 800 ns GI
#: (IEEE 802.11-2016 Table 21-30: 6.5 … 86.7), then the two higher rates ns-3's Minstrel-HT
#: settles on close to an AP in fixtures/ns3 (97.5 and 108.3 Mbit/s: reported as 109.6875 and
#: 121.875 there, see :data:`WIFI_REPORT_FACTOR`).
VHT20_RATE_MBPS = (6.5, 13.0, 19.5, 26.0, 39.0, 52.0, 58.5, 65.0, 78.0, 86.667, 97.5, 108.333)
#: Lowest SNR (dB) at which ns-3's Minstrel-HT settles on each of those levels: fitted to
#: fixtures/ns3 (the distance within which 90 % of the user-steps reporting a level lie, under
#: the log-distance loss of :func:`wifi_profile`): 11 dB for MCS 4, which ns-3 keeps out to
#: ~53 m, 16.5–25.5 dB for MCS 5–9 (2.5–5 dB below the VHT minimum input sensitivity
#: (Table 21-25) less −101 dBm + 10 dB noise figure + 5 dB margin), and 31 and 33 dB for the
#: two higher levels, where the sensitivity figures and the recordings agree.
VHT20_MIN_SNR_DB = (0.0, 3.0, 5.0, 8.0, 11.0, 16.5, 18.5, 19.5, 23.5, 25.5, 31.0, 33.0)
#: ns-3 (GMA's ``wifi::dl::max_rate``) reports 9/8 of the Minstrel-HT PHY rate: every value in
#: fixtures/ns3 is a VHT/HT rate × 1.125 (7.3125 = 6.5 × 1.125 … 87.75 = 78 × 1.125).
WIFI_REPORT_FACTOR = 1.125
#: Contention noise σ_k of a Wi-Fi user's capacity per radio period for 1, 2, 3 and 4 or more
#: users on its AP. Set so that a saturated user's rate varies from one 100 ms interval to the
#: next (std / mean over 10-interval windows) as in fixtures/ns3's ``*_tcp_wifi_*``
#: recordings: 0.026, 0.091, 0.123, 0.14 (117–163 windows each).
CONTENTION_CV = (0.027, 0.108, 0.147, 0.168)
#: Radio periods of contention draws a network holds (cycled); also the intervals of
#: rate-probe draws (:func:`probe_levels`).
FADE_PERIODS = 256
#: Minstrel-HT's rate probes as ns-3 reports them: in fixtures/ns3 a user's reported Wi-Fi level
#: leaves the level it holds for one interval and comes back (1.5 % of the intervals), far up or
#: down, at no change of its Wi-Fi rate. The chance of such an interval falls with the user's
#: Wi-Fi rate in it (the traffic direction's Mbit/s, bins split at
#: :data:`PROBE_RATE_EDGES_MBPS`): 0.35 % without Wi-Fi traffic (11,479 user-intervals), 5.5 %
#: under 4 Mbit/s (2,639), 3.4 % at 4–8 (4,249), 1.95 % at 8–16 (6,556), 1.12 % from 16 (25,181).
PROBE_RATE_EDGES_MBPS = (0.05, 4.0, 8.0, 16.0)
PROBE_CHANCE = (0.0035, 0.055, 0.034, 0.0195, 0.0112)
#: How often each Wi-Fi level (:data:`VHT20_RATE_MBPS`, lowest first) is the probe's level
#: in fixtures/ns3 (782 probe intervals): higher levels more often.
PROBE_WEIGHTS = (14, 20, 26, 51, 42, 57, 76, 75, 83, 105, 117, 116)
#: Penetration and interference margin of the NR links, dB (calibration: FIDELITY.md).
CELLULAR_EXTRA_LOSS_DB = 20.0
#: Free-space path loss at 1 m and 1 GHz, dB: ``20 log10(4π · 1 m · 1 GHz / c)``.
FRIIS_A_DB = 32.44


@dataclass(frozen=True)
class RadioProfile:
    """The link budget and PHY abstraction of one technology.

    Attributes:
        name: ``"wifi"``, ``"nr"`` or ``"lte"``.
        carrier_ghz: Carrier frequency, GHz.
        data_bandwidth_hz: Bandwidth that carries data (subcarriers × spacing), Hz.
        pl_a_db: Path-loss intercept ``A``, dB.
        pl_b_db: Path-loss distance coefficient ``B`` (10 × exponent), dB/decade.
        pl_c_db: Path-loss frequency coefficient ``C``, dB/decade of GHz.
        bs_tx_power_dbm: Base station / AP transmit power (downlink), dBm.
        ue_tx_power_dbm: User transmit power (uplink), dBm.
        ue_noise_figure_db: Receiver noise figure of the user (downlink), dB.
        bs_noise_figure_db: Receiver noise figure of the base station (uplink), dB.
        se_max_bps_hz: Spectral efficiency of the top MCS, bit/s/Hz.
        overhead: Share of the PHY rate left after control and reference signals.
        min_snr_db: Below this SNR the link is out of range (capacity 0).
        mac_efficiency: Share of the capacity a user's data actually gets (Wi-Fi: contention,
            headers and acknowledgements; cellular: 1, the overhead is in ``overhead``).
        access_delay_ms: Fixed one-way access delay of the link (scheduling/contention), ms.
        level_se: Spectral efficiency of each rate level (CQI or MCS), ascending, bit/s/Hz.
        level_min_snr_db: Lowest SNR of each level (Wi-Fi MCS); empty: levels are chosen by
            the Shannon-gap efficiency instead (CQI).
        extra_loss_db: Loss beyond the path-loss model (penetration, interference rise), dB.
        ul_access_delay_ms: Extra one-way delay of an uplink packet (contention, or the
            scheduling request and grant), ms.
    """

    name: str
    carrier_ghz: float
    data_bandwidth_hz: float
    pl_a_db: float
    pl_b_db: float
    pl_c_db: float
    bs_tx_power_dbm: float
    ue_tx_power_dbm: float
    ue_noise_figure_db: float
    bs_noise_figure_db: float
    se_max_bps_hz: float
    overhead: float
    min_snr_db: float
    mac_efficiency: float
    access_delay_ms: float
    level_se: tuple[float, ...] = ()
    level_min_snr_db: tuple[float, ...] = ()
    extra_loss_db: float = 0.0
    ul_access_delay_ms: float = 0.0


def lte_profile(resource_blocks: int) -> RadioProfile:
    """LTE FDD at 2120 MHz (ns-3's default downlink EARFCN 100) with ``resource_blocks`` RBs.

    Powers and noise figures are ns-3's LTE defaults for the eNB (30 dBm, NF 5 dB) and UE
    (NF 9 dB); the UE transmits at 23 dBm (power class 3, TS 36.101 §6.2.2). The top MCS is
    CQI 15, 64-QAM, 5.5547 bit/s/Hz (TS 36.213 Table 7.2.3-1). ``overhead`` = 0.735 is the
    ratio of the peak transport block (TS 36.213 Table 7.1.7.2.1-1, I_TBS 26, 50 PRB: 36 696
    bit per 1 ms) to ``50 × 180 kHz × 5.5547``: control region and reference signals.
    """
    return RadioProfile(
        name="lte",
        carrier_ghz=2.12,
        data_bandwidth_hz=resource_blocks * LTE_RB_HZ,
        # Friis free space, ns-3's LteHelper default (NetworkGym's scenario sets no other).
        pl_a_db=FRIIS_A_DB,
        pl_b_db=20.0,
        pl_c_db=20.0,
        bs_tx_power_dbm=30.0,
        ue_tx_power_dbm=23.0,
        ue_noise_figure_db=9.0,
        bs_noise_figure_db=5.0,
        se_max_bps_hz=5.5547,
        overhead=0.735,
        min_snr_db=-6.0,
        mac_efficiency=1.0,
        access_delay_ms=3.0,
        level_se=LTE_CQI_SE,
        # Scheduling request, grant 4 subframes later (TS 36.213 §8), transmission.
        ul_access_delay_ms=4.0,
    )


def nr_profile() -> RadioProfile:
    """NR FR1 at 3.5 GHz (band n78), 20 MHz with 30 kHz subcarriers: 51 PRB (TS 38.101-1
    Table 5.3.2-1) × 12 × 30 kHz = 18.36 MHz.

    Top MCS: CQI 15 of the 256-QAM table, 7.4063 bit/s/Hz (TS 38.214 Table 5.2.2.1-3);
    overhead 0.14 (TS 38.306 §4.1.2, FR1 downlink), so ``overhead`` = 0.86. Slot 0.5 ms,
    hence a shorter access delay than LTE's 1 ms TTI.
    """
    return RadioProfile(
        name="nr",
        carrier_ghz=3.5,
        data_bandwidth_hz=51 * 12 * 30e3,
        pl_a_db=13.54,
        pl_b_db=39.08,
        pl_c_db=20.0,
        bs_tx_power_dbm=30.0,
        ue_tx_power_dbm=23.0,
        ue_noise_figure_db=9.0,
        bs_noise_figure_db=5.0,
        se_max_bps_hz=7.4063,
        overhead=0.86,
        min_snr_db=-6.0,
        mac_efficiency=1.0,
        access_delay_ms=1.0,
        level_se=NR_CQI_SE,
        extra_loss_db=CELLULAR_EXTRA_LOSS_DB,
        ul_access_delay_ms=2.0,
    )


#: Wi-Fi data delivered per unit of reported rate and airtime (see :func:`wifi_profile`).
WIFI_MAC_EFFICIENCY = 0.84


def wifi_profile() -> RadioProfile:
    """IEEE 802.11ac, 20 MHz at 5180 MHz (channel 36), one spatial stream, 800 ns GI.

    Rates are the levels of :data:`VHT20_RATE_MBPS` (VHT MCS 0 … 9 and the two higher rates
    ns-3 reaches), reported as ns-3 reports them, × :data:`WIFI_REPORT_FACTOR` (``overhead``);
    ``mac_efficiency`` is counted against that reported rate. Noise is counted over the
    20 MHz channel.
    Path loss and power are ns-3's defaults, which NetworkGym's scenario keeps
    (``YansWifiChannelHelper::Default``: log-distance, exponent 3, 46.6777 dB at 1 m; transmit
    power 16.0206 dBm at the AP and the station); noise figure 7 dB.
    ``mac_efficiency`` 0.84 of the reported rate: what an AP delivers, over the harmonic mean
    of its users' reported rates (every user of the AP at one rate), with A-MPDU aggregation
    and block acknowledgements (fixtures/ns3 ``*_tcp_wifi_*``: 0.81–0.86 per AP and
    recording, for one, two or three users on the AP). An uplink packet (a TCP ACK) waits
    about 0.5 ms more for its own channel access (DIFS + mean backoff + the AP's traffic).
    """
    return RadioProfile(
        name="wifi",
        carrier_ghz=5.18,
        data_bandwidth_hz=20e6,
        # ns-3's YansWifiChannelHelper::Default: log-distance, exponent 3, 46.6777 dB at 1 m
        pl_a_db=46.6777,
        pl_b_db=30.0,
        pl_c_db=0.0,
        # ns-3's Wi-Fi PHY default transmit power, AP and station alike
        bs_tx_power_dbm=16.0206,
        ue_tx_power_dbm=16.0206,
        ue_noise_figure_db=7.0,
        bs_noise_figure_db=7.0,
        se_max_bps_hz=VHT20_RATE_MBPS[-1] / 20.0,
        overhead=WIFI_REPORT_FACTOR,
        min_snr_db=VHT20_MIN_SNR_DB[0],
        mac_efficiency=WIFI_MAC_EFFICIENCY,
        access_delay_ms=0.5,
        level_se=tuple(rate / 20.0 for rate in VHT20_RATE_MBPS),
        level_min_snr_db=VHT20_MIN_SNR_DB,
        ul_access_delay_ms=0.5,
    )


def path_loss_db(profile: RadioProfile, distance_m: FloatArray) -> FloatArray:
    """Path loss (dB) at 3-D distances ``distance_m`` (≥ 1 m), increasing in distance."""
    return (
        profile.pl_a_db
        + profile.pl_b_db * np.log10(distance_m)
        + profile.pl_c_db * math.log10(profile.carrier_ghz)
    )


def snr_db(
    profile: RadioProfile,
    distance_m: FloatArray,
    shadowing_db: FloatArray | None = None,
    *,
    uplink: bool = False,
) -> FloatArray:
    """SNR (dB) of users at ``distance_m`` from cells, downlink unless ``uplink``."""
    tx_dbm = profile.ue_tx_power_dbm if uplink else profile.bs_tx_power_dbm
    nf_db = profile.bs_noise_figure_db if uplink else profile.ue_noise_figure_db
    noise_dbm = THERMAL_NOISE_DBM_HZ + 10.0 * math.log10(profile.data_bandwidth_hz) + nf_db
    rx_dbm = tx_dbm - path_loss_db(profile, distance_m) - profile.extra_loss_db
    if shadowing_db is not None:
        rx_dbm = rx_dbm - shadowing_db
    return rx_dbm - noise_dbm


def spectral_efficiency(profile: RadioProfile, snr: FloatArray) -> FloatArray:
    """Efficiency (bit/s/Hz) of the rate level the link gets at ``snr`` dB; 0 out of range.

    Without a level table: Shannon with the SNR gap, capped at ``se_max_bps_hz``.
    """
    snr = np.asarray(snr, dtype=np.float64)
    if profile.level_min_snr_db:
        level = np.searchsorted(np.asarray(profile.level_min_snr_db), snr, side="right")
    else:
        with np.errstate(over="ignore"):
            linear = np.power(10.0, snr / 10.0)
        shannon = np.log2(1.0 + linear / SNR_GAP_LINEAR)
        if not profile.level_se:
            se = np.minimum(shannon, profile.se_max_bps_hz)
            return np.where(snr >= profile.min_snr_db, se, 0.0)
        level = np.searchsorted(np.asarray(profile.level_se), shannon, side="right")
    table = np.concatenate(([0.0], profile.level_se))
    se_level: FloatArray = np.where(snr >= profile.min_snr_db, table[level], 0.0)
    return se_level


def capacity_mbps(profile: RadioProfile, snr: FloatArray) -> FloatArray:
    """Link capacity (Mbit/s) at ``snr`` dB if the user had the whole channel."""
    return profile.data_bandwidth_hz * profile.overhead * spectral_efficiency(profile, snr) / 1e6


def contention_factor(ap: IntArray, draw: FloatArray) -> FloatArray:
    """Each user's Wi-Fi rate factor for one radio period: ``1 + σ_k · draw``, in [0.5, 1.5].

    Contention (DCF back-off, collisions, retries) makes a Wi-Fi user's rate vary from one
    100 ms interval to the next, the more the more users its AP serves: σ_k is
    :data:`CONTENTION_CV` for ``k`` users of the AP (``ap``: AP index, −1 none: factor 1);
    ``draw``: standard normal draws, one per user. The factor scales the user's capacity and
    its fair share of the AP's throughput alike (the sharing's weight is the factor over the
    capacity, :mod:`netgym_sim.model.scheduling`), so with ``k`` backlogged users a user's
    rate varies by σ_k whether the AP shares airtime or throughput.
    """
    k = np.minimum(users_per_cell(ap), len(CONTENTION_CV))
    sigma = np.where(k > 0, np.asarray(CONTENTION_CV)[np.maximum(k - 1, 0)], 0.0)
    factor: FloatArray = np.clip(1.0 + sigma * draw, 0.5, 1.5)
    return factor


def probe_levels(
    profile: RadioProfile, level_mbps: FloatArray, rate_mbps: FloatArray, draws: FloatArray
) -> FloatArray:
    """The Wi-Fi levels reported for one interval: each user's own, or a probe's.

    ``level_mbps``: each user's Wi-Fi capacity (0: no link); ``rate_mbps``: its Wi-Fi rate
    over the interval; ``draws``: ``(n, 2)`` uniform draws in [0, 1), one to pick the probe
    intervals (chance :data:`PROBE_CHANCE` by rate), one the probe's level among the others,
    by :data:`PROBE_WEIGHTS`. Only what is reported changes: the rate the user gets does not.
    """
    levels = capacity_mbps(profile, np.asarray(profile.level_min_snr_db))
    chance = np.asarray(PROBE_CHANCE)[np.searchsorted(PROBE_RATE_EDGES_MBPS, rate_mbps, "right")]
    probing = (level_mbps > 0.0) & (draws[:, 0] < chance)
    if not np.any(probing) or levels.size != len(PROBE_WEIGHTS):
        return level_mbps
    own = np.isclose(levels[None, :], level_mbps[probing, None])
    weights = np.where(own, 0.0, np.asarray(PROBE_WEIGHTS, dtype=np.float64)[None, :])
    cumulative = np.cumsum(weights, axis=1)
    pick = (draws[probing, 1:2] * cumulative[:, -1:] < cumulative).argmax(axis=1)
    out: FloatArray = level_mbps.copy()
    out[probing] = levels[pick]
    return out
