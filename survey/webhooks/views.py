"""Twilio webhooks (inbound SMS, voice TwiML, status callbacks): they come with the channels work.

The blueprint is registered, and exempt from CSRF, so that work only adds routes here.
"""
