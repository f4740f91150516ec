"""What a clear costs in USD, from AWS's public prices (US East, N. Virginia; arm64, as the
template deploys both functions; the free tier left out).

Sources, read 2026-12-07 with the project's search tool:
- Lambda requests, $0.20 per million, and durable operations, $8.00 per million: a transcription
  of https://aws.amazon.com/lambda/pricing/ (the page read 2026-09-20), at
  https://raw.githubusercontent.com/api-evangelist/aws-lambda/refs/heads/main/plans/aws-lambda-plans-pricing.yml
  ("Durable Functions operations (example rate): $8.00/M").
- Duration on arm64, $0.0000133334 per GB-second (first tier): the same pricing page's Arm
  table, as quoted at
  https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/55aa31eff5dc2f86ca3f716c3f8ce28d9c8a2b2e/docs/lambdas-md/lambda-13-cost.md
- Durable data written (per GB) and retained (per GB-month): not found in any source reachable
  here; the figures below count their bytes and price them at a deliberately high $1 per GB
  (and per GB-month), an upper bound, not AWS's price. Confirm on the pricing page.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "2026-12-07"
PAGE = "https://aws.amazon.com/lambda/pricing/"
SOURCES = (
    "https://raw.githubusercontent.com/api-evangelist/aws-lambda/refs/heads/main/plans/"
    "aws-lambda-plans-pricing.yml (transcribing " + PAGE + ", read 2026-09-20)"
)
REQUEST_USD = 0.20 / 1_000_000
GB_SECOND_ARM_USD = 0.0000133334
DURABLE_OPERATION_USD = 8.00 / 1_000_000
# Not AWS's figures: an upper bound for prices this bench could not confirm (see above).
DATA_BOUND_USD_PER_GB = 1.0
GB = 1024**3


@dataclass(frozen=True)
class Usage:
    requests: int  # Lambda invocations, both functions
    gb_seconds: float
    durable_operations: int
    written_bytes: int  # checkpoint payloads
    retention_days: int  # the template's RetentionPeriodInDays


@dataclass(frozen=True)
class Cost:
    requests: float
    duration: float
    operations: float
    data_bound: float  # written and retained, at DATA_BOUND_USD_PER_GB: an upper bound

    @property
    def total(self) -> float:
        return self.requests + self.duration + self.operations

    @property
    def total_bound(self) -> float:
        return self.total + self.data_bound


def cost(usage: Usage) -> Cost:
    gigabytes = usage.written_bytes / GB
    retained_gb_months = gigabytes * usage.retention_days / 30
    return Cost(
        requests=usage.requests * REQUEST_USD,
        duration=usage.gb_seconds * GB_SECOND_ARM_USD,
        operations=usage.durable_operations * DURABLE_OPERATION_USD,
        data_bound=(gigabytes + retained_gb_months) * DATA_BOUND_USD_PER_GB,
    )
