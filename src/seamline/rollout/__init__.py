"""Layer 7, rollout: flags with sticky percentage canaries and the baseline path.

When the AI path is off or fails, the integration's baseline function answers.
"""

from seamline.rollout._flags import Flags, FlagState, bucket, parse_state

__all__ = ["FlagState", "Flags", "bucket", "parse_state"]
