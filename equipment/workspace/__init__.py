"""Pages for signed-in users that compose the domains: role navigation, the home page with the role's
work, the lists (units, inspections, maintenance, alarms, terminals, obligations) and the unit dossier.
Reaches every domain only through its `service` module, with the caller's scope."""
