"""The state programme's view: ``monitoring`` (coverage against targets, the
dashboard) and ``compliance`` (chasing professionals into HPR). It reads both sides and
writes to neither; what it needs changed it asks for through a side's service.
"""
