"""Human amounts ("1.5") to base units and back: `$`, REP and gREP all have 9 decimals."""

from decimal import Decimal, InvalidOperation

DECIMALS = 9
UNIT = 10**DECIMALS
PPM = 1_000_000


def parse_amount(text: str) -> int:
    """Parse a non-negative decimal amount into base units; refuse what would be rounded."""
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r} (expected a number such as 1.5)") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"amount must be a non-negative number, got {text!r}")
    base = value * UNIT
    if base != base.to_integral_value():
        raise ValueError(f"amount {text!r} has more than {DECIMALS} decimals")
    return int(base)


def format_amount(base_units: int) -> str:
    """Base units as a decimal string with no trailing zeros: 1500000000 -> '1.5'."""
    sign = "-" if base_units < 0 else ""
    whole, frac = divmod(abs(base_units), UNIT)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{DECIMALS}d}".rstrip("0")
