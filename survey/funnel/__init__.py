"""The response funnel: invited → sent → delivered → opened → started → completed, per survey channel.

``stages`` says how far an invitation got, from its raw rows; ``keeping`` keeps the
funnel rollup (survey.models.funnel) in step with every change, and rebuilds it;
``report`` reads it for the API and the dashboard.
"""
