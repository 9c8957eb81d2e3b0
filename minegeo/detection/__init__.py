"""minegeo.detection: what predict does with the probability maps the scan wrote.

``detections`` turns maps into polygons with scores and areas, ``oretype`` runs the
paper's impact classifier around each one, ``registry_check`` finds the detections no
concession or dam register covers, ``quicklook`` draws them, and ``report`` runs these
stages for a whole run and writes its summary.
"""
