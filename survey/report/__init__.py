"""The period report: the bank's customer-service summary, written from the numbers.

``periods`` names the period and what it is compared with; ``build`` gathers every figure
through the same services as the dashboards and the API (so the numbers agree to the
digit); ``sentences`` turns figures into plain sentences, none canned; ``svg`` draws the
charts as SVG the PDF renderer draws too; ``pdf`` renders the page with WeasyPrint.
"""
