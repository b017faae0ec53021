"""Not provided: importing it raises ImportError naming the feature."""

from .._not_provided import refuse

refuse(__name__)
