"""Ingestion assets: WB orders/sales/stocks and MoySklad assortment/orders/stock, per account."""

from supplybrain_pipelines.assets.ingest.moysklad import (
    moysklad_assortment,
    moysklad_customer_orders,
    moysklad_stock,
)
from supplybrain_pipelines.assets.ingest.wb import wb_orders, wb_sales, wb_stocks

INGEST_ASSETS = [wb_orders, wb_sales, wb_stocks, moysklad_assortment, moysklad_customer_orders,
                 moysklad_stock]
