# Twisted Web guide, "Resource Scripts": the SillyWeb.Counter module that counter.rpy imports,
# as the guide implements it.
class Counter:

    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1

    def getValue(self):
        return self.value
