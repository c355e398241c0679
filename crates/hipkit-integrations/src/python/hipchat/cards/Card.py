"""Card classes, as the seed's: Card, ApplicationCard, ActivityCard and their parts.

Each card gets its own id (the seed's default id was shared by every card).
"""
import uuid

STYLES = ['file', 'image', 'application', 'link', 'media']
FORMATS = ['compact', 'medium']
VALUE_STYLES = ['lozenge-success', 'lozenge-error', 'lozenge-current',
                'lozenge-complete', 'lozenge-moved', 'lozenge']


class Card:
    def __init__(self, style, url='', id=None, title='', format='medium'):
        if style not in STYLES:
            raise ValueError("Style '%s' is invalid. Available styles: %s" % (style, STYLES))
        if format not in FORMATS:
            raise ValueError("Format '%s' is invalid. Available formats: %s" % (format, FORMATS))
        self.style = style
        self.format = format
        self.url = url
        self.id = id if id is not None else str(uuid.uuid4())
        self.title = title


class Icon:
    def __init__(self, url=''):
        self.url = url


class AttributeValue:
    def __init__(self, label='', icon=None, style='lozenge'):
        self.label = label
        if icon is not None:
            self.icon = vars(icon)
        if style not in VALUE_STYLES:
            raise ValueError("Style '%s' is invalid. Available styles: %s"
                             % (style, VALUE_STYLES))
        self.style = style


class Attribute:
    def __init__(self, label='', value=None):
        self.label = label
        if value is not None:
            self.value = vars(value)


class Activity:
    def __init__(self, html=''):
        self.html = html


class ApplicationCard(Card):
    def __init__(self, url='', id=None, title='', description='', icon=None, attributes=None):
        super().__init__(style='application', format='medium', url=url, id=id, title=title)
        self.description = description
        if icon is not None:
            self.icon = vars(icon)
        if attributes is not None:
            self.attributes = [vars(a) for a in attributes]


class ActivityCard(ApplicationCard):
    def __init__(self, url='', id=None, title='', description='', icon=None, attributes=None,
                 activity=None):
        super().__init__(url=url, id=id, title=title, description=description, icon=icon,
                         attributes=attributes)
        if activity is not None:
            self.activity = vars(activity)
