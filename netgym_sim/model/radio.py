"""Radio links: path loss, SNR, spectral efficiency and per-user capacity, per technology.

Equations (all vectorised over users × cells):

- Path loss (dB) ``PL = A + B·log10(d_3D / 1 m) + C·log10(f_c / 1 GHz)`` with the stated
  ``(A, B, C)`` per technology:

  * LTE and NR: 3GPP TR 38.901 V17 Table 7.4.1-1, UMa NLOS
    ``13.54 + 39.08·log10(d) + 20·log10(fc)`` (the ``-0.6 (h_UT - 1.5)`` term is 0 at the
    scenarios' 1.5 m user height, and the model is used for every distance, without the
    LOS/NLOS maximum, so that capacity is monotone in distance).
  * Wi-Fi: IEEE 802.11-14/0980r16 (TGax simulation scenarios), outdoor large-BSS scenario,
    which uses the ITU-R M.2135 UMi model ``22.7 + 36.7·log10(d) + 26·log10(fc)``.

- Optional log-normal shadowing: a seeded ``N(0, σ²)`` dB term per user and cell, fixed for
  the run (σ = 0 by default: the scenarios' configs have no shadowing key).
- ``SNR = P_tx − PL − (−174 dBm/Hz + 10·log10(B_noise) + NF)``: thermal noise over the
  channel, no inter-cell interference (Wi-Fi co-channel contention is modelled as shared
  airtime in :mod:`netgym_sim.model.scheduling` instead).
- Spectral efficiency ``SE = min(log2(1 + SNR/Γ), SE_max)`` bit/s/Hz: Shannon with an SNR gap
  ``Γ = −ln(5·BER)/1.5`` for BER = 5·10⁻⁵ (≈ 7.4 dB), the gap ns-3's ``LteAmc`` uses (Piro et
  al., "LTE-Sim", IEEE TVT 2011, after Goldsmith, *Wireless Communications*, 2005, §9.3),
  capped at the top MCS of the technology.
- Capacity ``max_rate = B_data · SE · η_overhead`` (Mbit/s), 0 below the technology's
  minimum SNR (out of range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netgym_sim.model.topology import FloatArray

__all__ = [
    "LTE_RB_HZ",
    "RadioProfile",
    "capacity_mbps",
    "lte_profile",
    "nr_profile",
    "path_loss_db",
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
        pl_a_db=13.54,
        pl_b_db=39.08,
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
    )


def wifi_profile() -> RadioProfile:
    """IEEE 802.11ax, 20 MHz at 5180 MHz (channel 36), one spatial stream, 0.8 µs GI.

    234 data subcarriers per 13.6 µs OFDM symbol (IEEE 802.11ax-2021 Table 27-12): the top
    MCS 11 (1024-QAM, rate 5/6, 8.33 bit/subcarrier) gives 143.4 Mbit/s, which is
    ``data_bandwidth_hz × se_max`` with ``data_bandwidth_hz`` = 234 / 13.6 µs. Powers and
    noise figure are the TGax simulation values (AP 20 dBm, STA 15 dBm, NF 7 dB). MCS 0
    needs about 4 dB SNR (the 802.11 minimum sensitivity, −82 dBm, allows NF 10 dB and 5 dB
    implementation margin). ``mac_efficiency`` 0.7: share of PHY time left for data after
    contention, preambles and block acknowledgements with A-MPDU aggregation.
    """
    return RadioProfile(
        name="wifi",
        carrier_ghz=5.18,
        data_bandwidth_hz=234 / 13.6e-6,
        pl_a_db=22.7,
        pl_b_db=36.7,
        pl_c_db=26.0,
        bs_tx_power_dbm=20.0,
        ue_tx_power_dbm=15.0,
        ue_noise_figure_db=7.0,
        bs_noise_figure_db=7.0,
        se_max_bps_hz=10.0 * 5.0 / 6.0,
        overhead=1.0,
        min_snr_db=4.0,
        mac_efficiency=0.7,
        access_delay_ms=0.5,
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
    rx_dbm = tx_dbm - path_loss_db(profile, distance_m)
    if shadowing_db is not None:
        rx_dbm = rx_dbm - shadowing_db
    return rx_dbm - noise_dbm


def spectral_efficiency(profile: RadioProfile, snr: FloatArray) -> FloatArray:
    """Shannon with the SNR gap, capped at the top MCS; 0 below ``min_snr_db`` (bit/s/Hz)."""
    linear = np.power(10.0, snr / 10.0)
    se = np.minimum(np.log2(1.0 + linear / SNR_GAP_LINEAR), profile.se_max_bps_hz)
    return np.where(snr >= profile.min_snr_db, se, 0.0)


def capacity_mbps(profile: RadioProfile, snr: FloatArray) -> FloatArray:
    """Link capacity (Mbit/s) at ``snr`` dB if the user had the whole channel."""
    return profile.data_bandwidth_hz * profile.overhead * spectral_efficiency(profile, snr) / 1e6
