"""Health records, the facility side's clinical documents.

The records domain owns care contexts and documents (``care_contexts``, with
HIP-initiated linking), what a facility does as a HIP when the consent manager asks
(``hip/``, one module per protocol flow) and the records it receives as a HIU
(``hiu/``, likewise), the bridge routes both answer on (``router``) and the doctor's
pages. Its services take what they use, typed (a clock, the gateway client, the
gateway's keys, the facility registry's names, ``config.RecordsConfig``); the routes,
pages and jobs unpack the runtime. It does not own consent (``network.consent``) or the
gateway exchange that carries the documents (``integrations.abdm``), and it never
imports the network side.
"""
