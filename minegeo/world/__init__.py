"""Private building blocks of the synthetic world (`minegeo.world.make`).

``spectra`` turns land-cover fractions into Sentinel-2 reflectance, ``landscape`` paints
the background (relief, fields, rivers, clouds), ``features`` places and paints mines,
tailings dams and their look-alikes, ``registries`` writes the vectors and the ANM list,
``patches`` cuts the training patches, ``timeline`` paints a place at several periods.
"""
