"""The patient's app (PHR): its pages (``pages``), JSON API (``router``) and its own
HIU (``own_records``), over what ``service`` does for the logged-in ABHA holder. The one
package that uses both the consent manager (``network.consent``) and the facility's
records engine (``facility.records``).
"""
