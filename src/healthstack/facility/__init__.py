"""The facility side: what a hospital runs.

``records`` (care contexts, the HIP that publishes a facility's documents and the HIU
that receives others'), and the homes of the HMIS and Scan & Share. It reaches the
network side only over ABDM's protocol, through ``integrations.abdm``; nothing here
imports ``network``.
"""
